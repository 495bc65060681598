"""What tests borrow: toy models, experts, sharding helpers, temp dirs, compile-test flags."""
