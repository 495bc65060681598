"""The training and parity checks of common_fsdp's FSDPTestMixin: ``_train_for_several_steps`` and
``_test_fsdp_parity`` (FSDP v1 against a DDP reference), plus the small ``_check_*`` asserts.

The reference DDP is built the way the device table says the FSDP device binds ranks: no device ids
on the CPU (also under ``--device cpu``), the device string where common_fsdp's device names one
(``hpu:0``), else the rank's index (upstream: cuda, xpu).
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

import torch
from torch import nn
from torch.distributed.fsdp import CPUOffload
from torch.distributed.fsdp import FullyShardedDataParallel as FSDP
from torch.distributed.fsdp._common_utils import TrainingState
from torch.distributed.fsdp._init_utils import NO_RESHARD_AFTER_FORWARD_STRATEGIES
from torch.distributed.fsdp.fully_sharded_data_parallel import BackwardPrefetch, MixedPrecision, ShardingStrategy
from torch.distributed.fsdp.sharded_grad_scaler import ShardedGradScaler
from torch.nn.parallel.distributed import DistributedDataParallel as DDP

from testing._helpers.fsdp_models import DEVICEInitMode, FSDPInitMode, FSDPTestModel
from testing._helpers.fsdp_utils import DEVICE_TYPE, _zero_model, fsdp_device_row, get_full_params


def _reference_ddp(model: nn.Module, rank: int) -> DDP:
    row = fsdp_device_row()
    if row is None or not row.accelerator:
        return DDP(model)
    if row.fsdp_device:
        return DDP(model, device_ids=[DEVICE_TYPE], output_device=DEVICE_TYPE)
    return DDP(model, device_ids=[rank], output_device=rank)


class FSDPParityMixin:
    """Needs ``self.process_group`` and TestCase's asserts."""

    def _check_cpu_offload(self, fsdp_model: FSDP, cpu_offload: CPUOffload) -> None:
        self.assertEqual(cpu_offload, fsdp_model.cpu_offload)

    def _check_backward_prefetch(self, fsdp_model: FSDP, backward_prefetch: Any) -> None:
        self.assertEqual(backward_prefetch, fsdp_model.backward_prefetch)

    def _check_forward_prefetch(self, fsdp_model: FSDP, forward_prefetch: Any) -> None:
        self.assertEqual(forward_prefetch, fsdp_model.forward_prefetch)

    def _train_for_several_steps(
        self,
        model: nn.Module,
        num_steps: int,
        autocast: bool,
        lr: float = 0.01,
        fsdp_cpu_offload: CPUOffload | None = None,
        save_model: bool = False,
        mixed_precision: MixedPrecision | None = None,
        enable_sharded_grad_scaler: bool = False,
        use_pure_fp16: bool = False,
        sharded_grad_scaler_kwargs: dict[str, Any] | None = None,
    ) -> torch.Tensor:
        cpu_offload_params = fsdp_cpu_offload and fsdp_cpu_offload.offload_params
        model_device = next(model.parameters()).device
        if sharded_grad_scaler_kwargs is None:
            sharded_grad_scaler_kwargs = {}
        sharded_grad_scaler = ShardedGradScaler(enabled=enable_sharded_grad_scaler, **sharded_grad_scaler_kwargs)
        # SGD with momentum, not Adam: Adam is scale invariant, which hides errors
        optim = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        for _ in range(num_steps):
            optim.zero_grad()
            with torch.amp.autocast(DEVICE_TYPE, enabled=autocast):
                # inputs are on the device whatever the offloading or the model's device
                input = model.module.get_input(torch.device(DEVICE_TYPE))
                if use_pure_fp16 or (mixed_precision and not isinstance(model, FSDP)):
                    input = input.half() if isinstance(input, torch.Tensor) else tuple(x.half() for x in input)
                output = model(*input)
                # offloaded parameters are back on the CPU after the forward, unless the strategy
                # keeps them unsharded (views into the device's flat parameter)
                if (
                    cpu_offload_params
                    and isinstance(model, FSDP)
                    and model.sharding_strategy not in NO_RESHARD_AFTER_FORWARD_STRATEGIES
                ):
                    for p in model.parameters():
                        self.assertEqual(p.device, torch.device("cpu"))
                loss = model.module.get_loss(input, output).to(model_device)
            loss = sharded_grad_scaler.scale(loss)
            if not mixed_precision and not use_pure_fp16:
                if loss.dtype != torch.float32:
                    raise AssertionError(
                        "loss data type should be float32, as the original parameter data type is float32."
                    )
            elif use_pure_fp16:
                self.assertEqual(loss.dtype, torch.float16)
            elif isinstance(model, FSDP):  # FSDP's loss is in the param dtype, DDP AMP's in fp32
                if mixed_precision is None:
                    raise AssertionError("Expected mixed_precision to not be None")
                self.assertEqual(loss.dtype, mixed_precision.param_dtype)
            else:
                self.assertEqual(loss.dtype, torch.float32)
            model.module.run_backward(loss)
            if cpu_offload_params and isinstance(model, FSDP):
                for p in model.parameters():
                    self.assertEqual(p.device, torch.device("cpu"))
            sharded_grad_scaler.step(optim)
            sharded_grad_scaler.update()
            if save_model:
                # a save/load that lost the state would break the parity with DDP after zeroing
                state_dict = {k: v.clone() for k, v in model.state_dict().items()}
                _zero_model(model)
                model.load_state_dict(state_dict)
        if isinstance(model, FSDP):
            model._assert_state(TrainingState.IDLE)
        return loss.detach()  # type: ignore[possibly-undefined]

    def _test_fsdp_parity(
        self,
        model_class: type[FSDPTestModel],
        fsdp_init_mode: FSDPInitMode,
        device_init_mode: DEVICEInitMode,
        ref_init_fn: Callable | None = None,
        num_iters: int = 2,
        save_model: bool = True,
        cpu_offload: CPUOffload = CPUOffload(),
        backward_prefetch: BackwardPrefetch | None = None,
        sharding_strategy: ShardingStrategy | None = None,
        mixed_precision: MixedPrecision | None = None,
        forward_prefetch: bool = False,
        use_orig_params: bool = False,
        enable_sharded_grad_scaler: bool = False,
        use_pure_fp16: bool = False,
        init_kwargs: dict[str, Any] | None = None,
        sharded_grad_scaler_kwargs: dict[str, Any] | None = None,
        **fsdp_kwargs: Any,
    ) -> None:
        """Train ``model_class`` under FSDP and under a data-parallel reference (DDP unless
        ``ref_init_fn`` wraps the bare model otherwise) and compare losses and parameters."""
        if fsdp_init_mode == FSDPInitMode.NO_FSDP:
            raise AssertionError("Expects an FSDP init mode that wraps with FSDP")
        if init_kwargs is None:
            init_kwargs = {}
        lr = 1e-2
        rank = self.process_group.rank()
        model = model_class.init(self.process_group, FSDPInitMode.NO_FSDP, DEVICEInitMode.DEVICE_BEFORE,
                                 deterministic=True, **init_kwargs)
        ref_model = _reference_ddp(model, rank) if ref_init_fn is None else ref_init_fn(model)
        if use_pure_fp16:
            ref_model = ref_model.half()
        ref_loss = self._train_for_several_steps(
            ref_model, num_iters, autocast=mixed_precision is not None, lr=lr, fsdp_cpu_offload=cpu_offload,
            mixed_precision=mixed_precision, enable_sharded_grad_scaler=enable_sharded_grad_scaler,
            use_pure_fp16=use_pure_fp16, sharded_grad_scaler_kwargs=sharded_grad_scaler_kwargs)
        ddp_params = list(ref_model.parameters())
        fsdp_kwargs.update({
            "cpu_offload": cpu_offload,
            "backward_prefetch": backward_prefetch,
            "sharding_strategy": sharding_strategy,
            "mixed_precision": mixed_precision,
            "forward_prefetch": forward_prefetch,
            "use_orig_params": use_orig_params,
        })
        try:
            fsdp_model = model_class.init(self.process_group, fsdp_init_mode, device_init_mode, fsdp_kwargs,
                                          deterministic=True, **init_kwargs)
        except Exception as e:
            raise ValueError(f"Initializing {model_class} raised error {str(e)}") from e
        if not isinstance(fsdp_model, FSDP):
            # the reference is data parallel: always compare against a top-level FSDP
            fsdp_model = FSDP(fsdp_model, self.process_group, **fsdp_kwargs)
        if use_pure_fp16:
            fsdp_model = fsdp_model.half()  # parameter dtype changed after FSDP's init
        if device_init_mode == DEVICEInitMode.DEVICE_AFTER:
            fsdp_model = fsdp_model.to(DEVICE_TYPE)
        offload_params = cpu_offload is not None and cpu_offload.offload_params
        # offloading with DEVICE_AFTER must fail at lazy init (parameters not on the CPU);
        # otherwise every parameter is on the CPU
        expects_device_error = offload_params and device_init_mode == DEVICEInitMode.DEVICE_AFTER
        expects_cpu_device = offload_params and device_init_mode != DEVICEInitMode.DEVICE_AFTER
        if expects_cpu_device:
            for param in fsdp_model.parameters():
                self.assertEqual(param.device, torch.device("cpu"))
        context = (
            self.assertRaisesRegex(
                RuntimeError,
                f"An FSDP-managed module with parameter CPU offloading enabled has parameters on {DEVICE_TYPE}",
            )
            if expects_device_error
            else nullcontext()
        )
        with context:
            fsdp_loss = self._train_for_several_steps(
                fsdp_model, num_iters, autocast=False, lr=lr, fsdp_cpu_offload=cpu_offload, save_model=save_model,
                mixed_precision=mixed_precision, enable_sharded_grad_scaler=enable_sharded_grad_scaler,
                use_pure_fp16=use_pure_fp16, sharded_grad_scaler_kwargs=sharded_grad_scaler_kwargs)
        if expects_device_error:
            return
        # parameter devices are checked before get_full_params(), which casts to fp32
        if offload_params:
            for param in fsdp_model.parameters():
                self.assertEqual(param.device, torch.device("cpu"))
            fsdp_loss = fsdp_loss.to(DEVICE_TYPE)
        fsdp_unsharded_params = get_full_params(fsdp_model)
        # the dtypes may differ under mixed precision
        torch.testing.assert_close(ref_loss, fsdp_loss, check_dtype=False)
        # parameters are not compared under mixed precision (DDP's are fp16 and its optimizer runs
        # in fp16, FSDP's in fp32) nor pure fp16 (https://github.com/pytorch/pytorch/issues/90784)
        if mixed_precision is None and not use_pure_fp16:
            self.assertEqual(ddp_params, fsdp_unsharded_params, exact_device=True, msg="FSDP did not match DDP")
