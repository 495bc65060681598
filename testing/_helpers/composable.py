"""Small models distributed tests borrow: upstream's ``common_dist_composable`` models and
``common_distributed``'s SaveForwardInputsModule/Model (upstream's definitions, unchanged)."""

from __future__ import annotations

import torch
import torch.nn as nn


class UnitModule(nn.Module):
    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.l1 = nn.Linear(100, 100, device=device)
        self.seq = nn.Sequential(nn.ReLU(), nn.Linear(100, 100, device=device), nn.ReLU())
        self.l2 = nn.Linear(100, 100, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(self.seq(self.l1(x)))


class CompositeModel(nn.Module):
    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.l1 = nn.Linear(100, 100, device=device)
        self.u1 = UnitModule(device)
        self.u2 = UnitModule(device)
        self.l2 = nn.Linear(100, 100, device=device)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.l2(self.u2(self.u1(self.l1(x))))


class UnitParamModule(nn.Module):
    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.l = nn.Linear(100, 100, device=device)
        self.seq = nn.Sequential(nn.ReLU(), nn.Linear(100, 100, device=device), nn.ReLU())
        self.p = nn.Parameter(torch.randn((100, 100), device=device))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mm(self.seq(self.l(x)), self.p)


class CompositeParamModel(nn.Module):
    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.l = nn.Linear(100, 100, device=device)
        self.u1 = UnitModule(device)
        self.u2 = UnitModule(device)
        self.p = nn.Parameter(torch.randn((100, 100), device=device))
        self.register_buffer("buffer", torch.randn((100, 100), device=device), persistent=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.mm(self.u2(self.u1(self.l(x))), self.p)


class FakeSequential(nn.Module):
    """Like nn.Sequential, but not one: nested wrapping by module-type policies skips it."""

    def __init__(self, *modules: nn.Module) -> None:
        super().__init__()
        self._module_sequence = list(modules)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for module in self._module_sequence:
            x = module(x)
        return x


class NestedSequentialModel(nn.Module):
    """Nesting that tells traversal orders apart (upstream defines no usable forward either)."""

    def __init__(self, device: torch.device) -> None:
        super().__init__()
        self.seq1 = nn.Sequential(
            nn.Linear(1, 1, device=device),
            FakeSequential(nn.Linear(1, 1, device=device), nn.ReLU(),
                           FakeSequential(nn.Linear(1, 1, device=device)), nn.ReLU()),
            nn.Linear(1, 2, device=device),
        )
        self.lin = nn.Linear(2, 2, device=device)
        self.seq2 = nn.Sequential(
            nn.ReLU(), nn.Linear(2, 3, device=device),
            FakeSequential(nn.Linear(3, 2, bias=False, device=device), nn.Linear(2, 4, bias=False, device=device)),
        )


class SaveForwardInputsModule(nn.Module):
    def __init__(self, forward_inputs: dict[nn.Module, torch.Tensor], cast_forward_inputs: bool) -> None:
        super().__init__()
        self.l = nn.Linear(100, 100)
        self.forward_inputs = forward_inputs
        self.cast_forward_inputs = cast_forward_inputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.forward_inputs[self] = x
        return self.l(x.to(self.l.weight.dtype) if self.cast_forward_inputs else x)


class SaveForwardInputsModel(nn.Module):
    def __init__(self, forward_inputs: dict[nn.Module, torch.Tensor], cast_forward_inputs: bool) -> None:
        super().__init__()
        self.c1 = SaveForwardInputsModule(forward_inputs, cast_forward_inputs)
        self.c2 = SaveForwardInputsModule(forward_inputs, cast_forward_inputs)
        self.forward_inputs = forward_inputs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.forward_inputs[self] = x
        return self.c2(self.c1(x))
