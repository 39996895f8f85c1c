"""Expected peak GPU memory of a LoRA run, split into its parts (``qwen2-train --estimate-memory``).

A worst-case estimate: every sequence of the micro-batch at ``max_length`` tokens. Parts:

- weights: all base parameters at the load precision (2 bytes for bf16/fp16, 4 for fp32;
  with 4-bit, ~0.55 bytes for NF4 linear layers with their constants and 4 bytes for the
  rest, which PEFT's k-bit preparation upcasts to fp32);
- adapter + optimizer: LoRA parameters in fp32 with their gradients and AdamW's two moments
  (16 bytes per trainable parameter);
- activations: with gradient checkpointing, each layer's input hidden state is kept plus one
  layer's full activations during recomputation; without it, every layer's activations. Per
  token and layer a decoder block keeps about ``2 * (10 * hidden + 4 * intermediate)`` bytes
  in 16-bit (norms, q/k/v/o inputs and outputs, SwiGLU's gate/up/act/product, LoRA inputs),
  attention is SDPA/flash so nothing quadratic in length is stored;
- LM head: TRL's fused, tiled cross-entropy never materialises the full logits; one tile of
  fp32 logits and their gradient is counted;
- overhead: CUDA context, allocator fragmentation and kernels' workspace (a fixed ~1.5 GB).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from qwen2_rust.modeling import LORA_TARGET_MODULES

GIB = 1024**3
_LM_HEAD_TILE_TOKENS = 1024
_OVERHEAD_BYTES = int(1.5 * GIB)


@dataclass(frozen=True)
class ModelShape:
    name: str
    vocab_size: int
    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    tie_embeddings: bool = False

    @property
    def kv_dim(self) -> int:
        return self.hidden_size // self.num_heads * self.num_kv_heads

    def linear_shapes(self) -> dict[str, tuple[int, int]]:
        """(in, out) of each projection in one decoder layer."""
        h, i, kv = self.hidden_size, self.intermediate_size, self.kv_dim
        return {
            "q_proj": (h, h),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (h, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
        }

    def parameter_count(self) -> int:
        per_layer = sum(a * b for a, b in self.linear_shapes().values())
        per_layer += self.hidden_size + 2 * self.kv_dim  # q/k/v biases (Qwen2 has them)
        per_layer += 2 * self.hidden_size  # two RMSNorms
        embeddings = self.vocab_size * self.hidden_size * (1 if self.tie_embeddings else 2)
        return self.num_layers * per_layer + embeddings + self.hidden_size

    def linear_parameter_count(self) -> int:
        return self.num_layers * sum(a * b for a, b in self.linear_shapes().values())

    @classmethod
    def from_config(cls, config: object, name: str = "model") -> ModelShape:
        return cls(
            name=name,
            vocab_size=config.vocab_size,  # type: ignore[attr-defined]
            hidden_size=config.hidden_size,  # type: ignore[attr-defined]
            intermediate_size=config.intermediate_size,  # type: ignore[attr-defined]
            num_layers=config.num_hidden_layers,  # type: ignore[attr-defined]
            num_heads=config.num_attention_heads,  # type: ignore[attr-defined]
            num_kv_heads=getattr(config, "num_key_value_heads", config.num_attention_heads),  # type: ignore[attr-defined]
            tie_embeddings=bool(getattr(config, "tie_word_embeddings", False)),
        )


# Qwen2-7B(-Instruct)'s published config.json.
QWEN2_7B = ModelShape(
    name="Qwen/Qwen2-7B-Instruct",
    vocab_size=152_064,
    hidden_size=3584,
    intermediate_size=18_944,
    num_layers=28,
    num_heads=28,
    num_kv_heads=4,
)

_WEIGHT_BYTES = {"bf16": 2.0, "fp16": 2.0, "fp32": 4.0}


@dataclass(frozen=True)
class MemoryEstimate:
    model: str
    precision: str
    batch_size: int
    max_length: int
    lora_r: int
    gradient_checkpointing: bool
    load_in_4bit: bool
    parameters: int
    trainable_parameters: int
    weights_bytes: int
    adapter_optimizer_bytes: int
    activations_bytes: int
    lm_head_bytes: int
    overhead_bytes: int

    @property
    def total_bytes(self) -> int:
        return (
            self.weights_bytes
            + self.adapter_optimizer_bytes
            + self.activations_bytes
            + self.lm_head_bytes
            + self.overhead_bytes
        )

    def to_dict(self) -> dict[str, object]:
        data = asdict(self)
        data["total_bytes"] = self.total_bytes
        data["total_gib"] = round(self.total_bytes / GIB, 2)
        return data


def lora_parameter_count(
    shape: ModelShape, r: int, target_modules: list[str] | tuple[str, ...]
) -> int:
    shapes = shape.linear_shapes()
    return shape.num_layers * sum(
        r * (a + b) for m, (a, b) in shapes.items() if m in target_modules
    )


def estimate_memory(
    shape: ModelShape,
    *,
    precision: str = "bf16",
    batch_size: int = 4,
    max_length: int = 2048,
    lora_r: int = 16,
    target_modules: list[str] | tuple[str, ...] = LORA_TARGET_MODULES,
    gradient_checkpointing: bool = True,
    load_in_4bit: bool = False,
) -> MemoryEstimate:
    params = shape.parameter_count()
    if load_in_4bit:
        # NF4 linear layers (~0.55 bytes/param with their constants); PEFT's
        # prepare_model_for_kbit_training upcasts everything else (embeddings, LM head,
        # norms) to fp32.
        linear = shape.linear_parameter_count()
        weights = int(linear * 0.55 + (params - linear) * 4)
    else:
        weights = int(params * _WEIGHT_BYTES[precision])
    trainable = lora_parameter_count(shape, lora_r, target_modules)
    adapter = trainable * 16
    act_bytes = 4.0 if precision == "fp32" else 2.0
    tokens = batch_size * max_length
    per_token_layer = act_bytes * (10 * shape.hidden_size + 4 * shape.intermediate_size)
    if gradient_checkpointing:
        activations = tokens * (shape.num_layers * act_bytes * shape.hidden_size + per_token_layer)
    else:
        activations = tokens * shape.num_layers * per_token_layer
    lm_head = min(tokens, _LM_HEAD_TILE_TOKENS) * shape.vocab_size * 4 * 2
    return MemoryEstimate(
        model=shape.name,
        precision="nf4" if load_in_4bit else precision,
        batch_size=batch_size,
        max_length=max_length,
        lora_r=lora_r,
        gradient_checkpointing=gradient_checkpointing,
        load_in_4bit=load_in_4bit,
        parameters=params,
        trainable_parameters=trainable,
        weights_bytes=weights,
        adapter_optimizer_bytes=adapter,
        activations_bytes=int(activations),
        lm_head_bytes=lm_head,
        overhead_bytes=_OVERHEAD_BYTES,
    )
