"""Fork tools: running upstream files as they are (redirect), porting and checking copies, expectations files."""
