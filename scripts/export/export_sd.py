#!/usr/bin/env python3
"""Export a Stable Diffusion 1.x / 2.x diffusers checkpoint to an edict model folder.

    python3 scripts/export/export_sd.py CHECKPOINT OUT_DIR [--dtype float32] [--device cpu]

CHECKPOINT is a diffusers checkpoint folder (model_index.json, unet/, vae/, text_encoder/,
tokenizer/, scheduler/) or a Hugging Face hub id, which diffusers/transformers resolve with
their own cache and download rules on your machine. OUT_DIR receives the folder described in
docs/model-format.md: text_encoder.pt, unet.pt, vae_encoder.pt, vae_decoder.pt (TorchScript),
tokenizer.json and model.json. model.json is written last, only when every check passed.

What the TorchScript files compute (all unscaled; the engine applies the VAE scaling factor):
  text_encoder.pt  input_ids int64[B, L] -> last_hidden_state [B, L, D] (after the final layer
                   norm, as diffusers' pipelines use it; SD 2.x configs already drop the last layer)
  unet.pt          (sample [B, 4, h, w], timestep int64[B], encoder_hidden_states [B, L, D])
                   -> UNet output (noise for epsilon models, v for v_prediction models)
  vae_encoder.pt   image [B, 3, H, W] in [-1, 1] -> cat(mean, logvar) [B, 8, H/8, W/8]
                   (quant_conv output = the posterior's `parameters`)
  vae_decoder.pt   latent [B, 4, h, w] -> image [B, 3, 8h, 8w] in [-1, 1] (post_quant_conv + decoder)

Tracing records dtypes and devices as constants, and diffusers/transformers contain casts that
are harmless in eager mode but wrong once frozen into a graph that the engine later casts with
`module.to(dtype)` (float16/bfloat16/float32/float64), e.g. the UNet's `t_emb.to(sample.dtype)`,
the attention's `probs.to(query.dtype)` and `query.float()`, the VAE decoder's
`sample.to(upscale_dtype)`, CLIP's float32 causal mask. The script therefore traces small
wrappers built from the models' public submodules:
  - UNet: the sinusoidal timestep embedding is computed inside `time_embedding` in
    max(float32, model dtype) (float32 in float16/bfloat16 as diffusers does, float64 in
    float64); attention runs through a dtype-following attention processor
    (`set_attn_processor`; `torch.nn.functional.scaled_dot_product_attention` on torch >= 2,
    bmm + softmax on torch 1.13, upcasting like diffusers' AttnProcessor).
  - VAE: the same attention processor; the decoder's forward is re-traced without the cast.
  - text encoder: embeddings -> encoder(causal mask built in the states' dtype) -> final norm.
Nothing in the traced graphs creates a tensor on a fixed device, so a file traced on the CPU
also runs after `module.to("cuda")` (the script checks the graphs for device constants).

After export every file is reloaded with torch.jit.load and compared with the unmodified
diffusers/transformers modules on fresh random inputs at two batch sizes and two image sizes
(other than the traced ones): max |loaded - eager| must be <= TOL * max(1, max|eager|), TOL =
1e-4 for a float32 export, 2e-2 for float16. Each loaded file is then cast with `.to(dtype)` for
every dtype of --check-dtypes (default float64, plus float16 on CUDA) and run once: its output
must have that dtype, be finite, agree with the export wrapper run eagerly in that same dtype
(float64: within 1e-9 * max(1, max|eager|), which catches any float32 step left in the graph;
float16 2e-2, bfloat16 2e-1) and with the export-dtype result (float64 1e-3, float16 5e-2,
bfloat16 2e-1). The graphs must not create tensors on a fixed device. Any failure exits with
status 1 and leaves no model.json.

Versions. Written against the public APIs of diffusers 0.20-0.31 (UNet2DConditionModel,
AutoencoderKL, set_attn_processor, Attention processors, ConfigMixin.load_config), transformers
4.30-4.45 (CLIPTextModel's text_model.embeddings/encoder/final_layer_norm, which diffusers'
own clip-skip code uses; CLIPTokenizer(Fast)) and torch 1.13 and 2.x.
Run end to end on this project's machine (CPU only, no GPU, no network, no real SD weights):
torch 1.13.1 (Debian python3-torch), diffusers 0.31.0, transformers 4.40.0.dev0 (main at the
4.40 branch point), huggingface_hub 0.24.7, without the `tokenizers` and `safetensors` wheels,
on randomly initialised checkpoints built with save_pretrained: tiny SD 1.x-shaped (epsilon,
PNDM config) and SD 2.x-shaped (v_prediction, linear projections, upcast attention, "!" pad
token) ones, and a full-size SD 2.1-768 configuration (865M-parameter UNet): every float32
difference was 0 and every float64 run bit-identical to the eager wrapper (full size: 162 s on
one thread, 8.2 GB peak memory). The torch >= 2 scaled_dot_product_attention path was only
exercised here with a stand-in for that function; the CLIPTokenizerFast path needs `tokenizers`,
which was absent.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import warnings as _warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clip_tokenizer as ct  # noqa: E402
import manifest as mf  # noqa: E402

TOLERANCE = {"float32": 1e-4, "float16": 2e-2}
DTYPE_TOLERANCE = {"float64": 1e-3, "float32": 1e-3, "float16": 5e-2, "bfloat16": 2e-1}
# loaded file cast to a dtype vs the patched eager wrapper cast to the same dtype
SAME_DTYPE_TOLERANCE = {"float64": 1e-9, "float32": 1e-4, "float16": 2e-2, "bfloat16": 2e-1}


def log(msg: str) -> None:
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# export wrappers (need torch; defined inside a function so that --help works without it)


def define_wrappers(torch):
    nn = torch.nn
    F = torch.nn.functional

    def at_least_float32(t):
        """A 1-element tensor whose dtype is max(float32, t.dtype), on t's device. Written with
        type promotion (not a Python dtype) so the traced graph follows later `.to(dtype)`.
        (Two separate slices: at trace time `.float()` of a float32 tensor returns that same
        tensor, and the tracer would then read both operands of the sum as the cast one.)"""
        flat = t.reshape(-1)
        return flat[:1] + flat[1:2].float()

    class DtypeFollowingAttnProcessor:
        """diffusers attention processor equivalent to AttnProcessor (torch 1.x) /
        AttnProcessor2_0 (torch 2.x) with no dtype frozen into a traced graph."""

        def __init__(self, use_sdpa: bool):
            self.use_sdpa = use_sdpa

        def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None,
                     temb=None, *args, **kwargs):
            residual = hidden_states
            if getattr(attn, "spatial_norm", None) is not None:
                hidden_states = attn.spatial_norm(hidden_states, temb)
            input_ndim = hidden_states.ndim
            if input_ndim == 4:
                batch_size, channel, height, width = hidden_states.shape
                hidden_states = hidden_states.view(batch_size, channel, height * width).transpose(1, 2)
            batch_size, sequence_length, _ = (
                hidden_states.shape if encoder_hidden_states is None else encoder_hidden_states.shape)
            if attention_mask is not None:
                attention_mask = attn.prepare_attention_mask(attention_mask, sequence_length, batch_size)
            if getattr(attn, "group_norm", None) is not None:
                hidden_states = attn.group_norm(hidden_states.transpose(1, 2)).transpose(1, 2)

            query = attn.to_q(hidden_states)
            if encoder_hidden_states is None:
                encoder_hidden_states = hidden_states
            elif getattr(attn, "norm_cross", None):
                encoder_hidden_states = attn.norm_encoder_hidden_states(encoder_hidden_states)
            key = attn.to_k(encoder_hidden_states)
            value = attn.to_v(encoder_hidden_states)

            if self.use_sdpa:
                inner_dim = key.shape[-1]
                head_dim = inner_dim // attn.heads
                query = query.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
                key = key.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
                value = value.view(batch_size, -1, attn.heads, head_dim).transpose(1, 2)
                if attention_mask is not None:
                    attention_mask = attention_mask.view(batch_size, attn.heads, -1, attention_mask.shape[-1])
                extra = {}
                if abs(float(attn.scale) * math.sqrt(int(head_dim)) - 1.0) > 1e-12:
                    extra["scale"] = attn.scale  # (torch >= 2.1) scale_qk=False or a custom scale
                hidden_states = F.scaled_dot_product_attention(
                    query, key, value, attn_mask=attention_mask, dropout_p=0.0, is_causal=False, **extra)
                hidden_states = hidden_states.transpose(1, 2).reshape(batch_size, -1, attn.heads * head_dim)
            else:
                query = attn.head_to_batch_dim(query)
                key = attn.head_to_batch_dim(key)
                value = attn.head_to_batch_dim(value)
                if attn.upcast_attention or attn.upcast_softmax:
                    wide = at_least_float32(query)
                if attn.upcast_attention:
                    query = query.type_as(wide)
                    key = key.type_as(wide)
                if attention_mask is None:
                    # zeros broadcastable to the scores, in their dtype and device. (diffusers passes
                    # torch.empty with beta=0; torch 1.13's CPU bfloat16 baddbmm then sometimes
                    # returns NaN, while beta=1 on zeros gives the same float32 bits as beta=0.)
                    base = query[:, :, :1] * 0
                else:
                    base = attention_mask
                scores = torch.baddbmm(base, query, key.transpose(-1, -2), beta=1, alpha=attn.scale)
                if attn.upcast_softmax:
                    scores = scores.type_as(wide)
                # back to the model dtype. (Not `type_as(query)`: when the upcast is a no-op at
                # trace time, the tracer takes `query` for the upcast tensor.)
                probs = scores.softmax(dim=-1).type_as(value)
                hidden_states = torch.bmm(probs, value)
                hidden_states = attn.batch_to_head_dim(hidden_states)

            hidden_states = attn.to_out[0](hidden_states)
            hidden_states = attn.to_out[1](hidden_states)
            if input_ndim == 4:
                hidden_states = hidden_states.transpose(-1, -2).reshape(batch_size, channel, height, width)
            if attn.residual_connection:
                hidden_states = hidden_states + residual
            hidden_states = hidden_states / attn.rescale_output_factor
            return hidden_states

    class TimestepsPassThrough(nn.Module):
        """Stands in for `unet.time_proj`: hands the integer timesteps on as a [B, 1] column.
        The UNet then casts it to the sample dtype (exact for integer t < 2048 in float16, always
        in float32/float64); TimeEmbeddingFromTimesteps computes the sinusoidal embedding."""

        def forward(self, timesteps):
            return timesteps.reshape(-1, 1)

    class TimeEmbeddingFromTimesteps(nn.Module):
        """Stands in for `unet.time_embedding`: diffusers' get_timestep_embedding (same ops, in
        the same order) computed in max(float32, weight dtype), then the original module."""

        def __init__(self, inner, num_channels, flip_sin_to_cos, downscale_freq_shift, scale=1.0,
                     max_period=10000):
            super().__init__()
            self.inner = inner
            self.num_channels = int(num_channels)
            self.half = self.num_channels // 2
            self.flip_sin_to_cos = bool(flip_sin_to_cos)
            self.downscale_freq_shift = float(downscale_freq_shift)
            self.scale = scale
            self.max_period = max_period
            self.register_buffer("freq_index", torch.arange(self.half, dtype=torch.int64))

        def forward(self, timesteps, condition=None):
            weight = self.inner.linear_1.weight
            wide = at_least_float32(weight)
            exponent = -math.log(self.max_period) * self.freq_index.type_as(wide)
            exponent = exponent / (self.half - self.downscale_freq_shift)
            emb = torch.exp(exponent)
            emb = timesteps.reshape(-1, 1).type_as(wide) * emb[None, :]
            emb = self.scale * emb
            emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
            if self.flip_sin_to_cos:
                emb = torch.cat([emb[:, self.half:], emb[:, :self.half]], dim=-1)
            if self.num_channels % 2 == 1:
                emb = F.pad(emb, (0, 1, 0, 0))
            emb = emb.type_as(weight)
            if condition is None:
                return self.inner(emb)
            return self.inner(emb, condition)

    class UNetExport(nn.Module):
        def __init__(self, unet):
            super().__init__()
            self.unet = unet

        def forward(self, sample, timestep, encoder_hidden_states):
            return self.unet(sample, timestep, encoder_hidden_states, return_dict=False)[0]

    class TextEncoderExport(nn.Module):
        """CLIPTextModel -> last_hidden_state, with the causal mask built in the states' dtype
        (0 on and below the diagonal, -inf above: the same softmax as transformers' finfo.min)."""

        def __init__(self, text_encoder):
            super().__init__()
            self.text_model = text_encoder.text_model

        def forward(self, input_ids):
            tm = self.text_model
            hidden = tm.embeddings(input_ids=input_ids)
            pos = torch.cumsum(input_ids[0] * 0 + 1, dim=0)  # 1..L (ones_like would freeze the device)
            future = pos[None, :] > pos[:, None]
            mask = future.type_as(hidden).masked_fill(future, float("-inf"))
            mask = mask[None, None].expand(hidden.shape[0], 1, -1, -1)  # transformers checks [B, 1, L, L]
            hidden = tm.encoder(inputs_embeds=hidden, causal_attention_mask=mask)[0]
            return tm.final_layer_norm(hidden)

    class VaeEncoderExport(nn.Module):
        def __init__(self, vae):
            super().__init__()
            self.encoder = vae.encoder
            self.quant_conv = getattr(vae, "quant_conv", None)

        def forward(self, image):
            h = self.encoder(image)
            if self.quant_conv is not None:
                h = self.quant_conv(h)
            return h

    class VaeDecoderExport(nn.Module):
        """post_quant_conv + diffusers' Decoder.forward without `sample.to(upscale_dtype)`."""

        def __init__(self, vae):
            super().__init__()
            self.post_quant_conv = getattr(vae, "post_quant_conv", None)
            self.decoder = vae.decoder

        def forward(self, latent):
            z = latent
            if self.post_quant_conv is not None:
                z = self.post_quant_conv(z)
            d = self.decoder
            s = d.conv_in(z)
            s = d.mid_block(s, None)
            for up_block in d.up_blocks:
                s = up_block(s, None)
            s = d.conv_norm_out(s)
            s = d.conv_act(s)
            s = d.conv_out(s)
            return s

    return {
        "DtypeFollowingAttnProcessor": DtypeFollowingAttnProcessor,
        "TimestepsPassThrough": TimestepsPassThrough,
        "TimeEmbeddingFromTimesteps": TimeEmbeddingFromTimesteps,
        "UNetExport": UNetExport,
        "TextEncoderExport": TextEncoderExport,
        "VaeEncoderExport": VaeEncoderExport,
        "VaeDecoderExport": VaeDecoderExport,
    }


def patch_unet(unet, w, use_sdpa):
    """Swap in the dtype-following time embedding and attention processor (in place)."""
    cfg = unet.config
    for key in ("class_embed_type", "addition_embed_type", "num_class_embeds", "time_cond_proj_dim"):
        if getattr(cfg, key, None) is not None:
            raise SystemExit(f"unet: {key} = {getattr(cfg, key)!r}: only plain SD 1.x/2.x UNets are supported")
    if getattr(cfg, "time_embedding_type", "positional") != "positional":
        raise SystemExit(f"unet: time_embedding_type {cfg.time_embedding_type!r} is not supported")
    proj = unet.time_proj
    for attr in ("num_channels", "flip_sin_to_cos", "downscale_freq_shift"):
        if not hasattr(proj, attr):
            raise SystemExit(f"unet.time_proj ({type(proj).__name__}) has no {attr}: unsupported diffusers version")
    unet.time_embedding = w["TimeEmbeddingFromTimesteps"](
        unet.time_embedding, proj.num_channels, proj.flip_sin_to_cos, proj.downscale_freq_shift,
        getattr(proj, "scale", 1))
    unet.time_proj = w["TimestepsPassThrough"]()
    unet.set_attn_processor(w["DtypeFollowingAttnProcessor"](use_sdpa))


# ---------------------------------------------------------------------------------------------
# checks


DEVICE_CONSTANT = re.compile(r'Device\s*=\s*prim::Constant\[value="([^"]+)"\]')


def device_constants(module) -> list:
    """Devices written as constants anywhere in a loaded TorchScript module's graphs."""
    found = set()

    def visit(m):
        try:
            found.update(DEVICE_CONSTANT.findall(str(m.inlined_graph)))
        except Exception:  # noqa: BLE001 (no graph: nothing to scan)
            pass

    visit(module)
    return sorted(found)


def max_abs(torch, t) -> float:
    return float(t.detach().abs().max().double()) if t.numel() else 0.0


def compare(torch, got, ref) -> tuple:
    """(max |got - ref|, scale = max(1, max|ref|)), in float64."""
    if tuple(got.shape) != tuple(ref.shape):
        raise AssertionError(f"shape {tuple(got.shape)} != eager shape {tuple(ref.shape)}")
    diff = (got.double() - ref.double()).abs().max().item() if ref.numel() else 0.0
    if not math.isfinite(diff):
        diff = float("inf")
    return diff, max(1.0, max_abs(torch, ref.double()))


class Checker:
    """Runs the checks of one exported file and keeps the results and failures."""

    def __init__(self, torch, device, export_dtype, check_dtypes, allow_device_constants):
        self.torch = torch
        self.device = device
        self.export_dtype = export_dtype
        self.check_dtypes = check_dtypes
        self.allow_device_constants = allow_device_constants
        self.failures = []
        self.warnings = []
        self.results = {}

    def fail(self, msg):
        log(f"  FAIL {msg}")
        self.failures.append(msg)

    def eager_in_dtypes(self, wrapper, inputs, cast_inputs):
        """Outputs of the (patched) eager wrapper cast in place to each check dtype, on `inputs`.
        Consumes the wrapper: its weights end up in the last dtype."""
        out = {}
        with self.torch.no_grad():
            for dname in self.check_dtypes:
                dtype = getattr(self.torch, dname)
                try:
                    out[dname] = wrapper.to(dtype)(*cast_inputs(inputs, dtype))
                except Exception as e:  # noqa: BLE001
                    out[dname] = e
        return out

    def run(self, name, path, cases, refs, eager_refs, cast_inputs):
        """cases: [(label, inputs)]; refs: outputs of the unmodified eager module per case;
        eager_refs: {dtype name: output of the patched eager wrapper in that dtype on case 0}."""
        torch = self.torch
        tol = TOLERANCE[self.export_dtype]
        res = {"cases": [], "dtypes": {}}
        loaded = torch.jit.load(path, map_location=self.device)
        loaded.eval()
        consts = device_constants(loaded)
        res["deviceConstants"] = consts
        if consts:
            msg = (f"{name}: the traced graph has device constants {consts}: it will only run on "
                   "that device")
            if self.allow_device_constants:
                log(f"  warning: {msg}")
                self.warnings.append(msg)
            else:
                self.fail(msg + " (pass --allow-device-constants to accept)")
        worst = 0.0
        with torch.no_grad():
            for (label, inputs), ref in zip(cases, refs):
                out = loaded(*inputs)
                diff, scale = compare(torch, out, ref)
                worst = max(worst, diff / scale)
                res["cases"].append({"inputs": label, "maxAbsDiff": diff, "maxAbsEager": scale})
                ok = diff <= tol * scale
                log(f"  {name} {label}: max|loaded - eager| = {diff:.3e} (max|eager| {scale:.3g}) "
                    f"{'ok' if ok else 'FAIL'}")
                if not ok:
                    self.fail(f"{name} {label}: max abs difference {diff:.3e} > {tol:g} * {scale:.3g}")
            del loaded
            label, inputs = cases[0]
            for dname in self.check_dtypes:
                dtype = getattr(torch, dname)
                try:
                    m = torch.jit.load(path, map_location=self.device).eval().to(dtype)
                    out = m(*cast_inputs(inputs, dtype))
                    del m
                except Exception as e:  # noqa: BLE001 (report, don't crash)
                    err = str(e).strip().splitlines()[-1][:300]
                    eager = eager_refs.get(dname)
                    if isinstance(eager, Exception):
                        msg = (f"{name} in {dname}: does not run on {self.device}, and neither does the eager "
                               f"module ({err}): a limit of this torch on this device, not of the export")
                        log(f"  warning: {msg}")
                        self.warnings.append(msg)
                        res["dtypes"][dname] = {"skipped": err}
                    else:
                        self.fail(f"{name} in {dname}: {type(e).__name__}: {err}")
                        res["dtypes"][dname] = {"error": err}
                    continue
                problems = []
                if out.dtype != dtype:
                    problems.append(f"output dtype is {out.dtype}")
                if not bool(torch.isfinite(out).all()):
                    problems.append("output has inf or NaN")
                # against the eager wrapper cast the same way: same computation, same dtype
                eager = eager_refs.get(dname)
                entry = {}
                if isinstance(eager, Exception) or eager is None:
                    diff_e = None
                else:
                    diff_e, scale_e = compare(torch, out, eager)
                    entry["maxAbsDiffEagerSameDtype"] = diff_e
                    if not diff_e <= SAME_DTYPE_TOLERANCE[dname] * scale_e:
                        problems.append(f"max|loaded - eager {dname}| = {diff_e:.3e} > "
                                        f"{SAME_DTYPE_TOLERANCE[dname]:g} * {scale_e:.3g}")
                # and against the export-dtype eager result: the same function
                diff, scale = compare(torch, out, refs[0])
                entry["maxAbsDiff"] = diff
                if not diff <= DTYPE_TOLERANCE[dname] * scale:
                    problems.append(f"max|loaded - eager {self.export_dtype}| = {diff:.3e} > "
                                    f"{DTYPE_TOLERANCE[dname]:g} * {scale:.3g}")
                res["dtypes"][dname] = entry
                same = "" if diff_e is None else f"max|out - eager {dname}| = {diff_e:.3e}, "
                log(f"  {name} .to({dname}) {label}: ran, output {str(out.dtype).replace('torch.', '')}, "
                    f"{same}max|out - eager {self.export_dtype}| = {diff:.3e} {'FAIL' if problems else 'ok'}")
                for p in problems:
                    self.fail(f"{name} in {dname}: {p}")
        res["maxRelDiff"] = worst
        self.results[name] = res


# ---------------------------------------------------------------------------------------------
# tokenizer


def export_tokenizer(args, out_dir):
    """Writes tokenizer.json; returns (settings dict, how it was made, warnings)."""
    notes = []
    kw = {k: v for k, v in (("revision", args.revision),) if v}
    try:
        import tokenizers  # noqa: F401
        have_fast = True
    except ImportError:
        have_fast = False
    if have_fast and not args.slow_tokenizer:
        from transformers import CLIPTokenizerFast
        tok = CLIPTokenizerFast.from_pretrained(args.checkpoint, subfolder="tokenizer", **kw)
        data = json.loads(tok.backend_tokenizer.to_str())
        data["truncation"] = None  # the engine truncates and pads itself (model.json text.*)
        data["padding"] = None
        settings = {"padId": tok.pad_token_id, "eosId": tok.eos_token_id, "bosId": tok.bos_token_id,
                    "modelMaxLength": tok.model_max_length}
        how = "CLIPTokenizerFast.backend_tokenizer.to_str()"
        # cross-check against the layout this script writes without `tokenizers`
        with tempfile.TemporaryDirectory() as tmp:
            try:
                tok.save_vocabulary(tmp)
                vocab = ct.read_vocab_json(os.path.join(tmp, "vocab.json"))
                merges = ct.read_merges_txt(os.path.join(tmp, "merges.txt"))
                specials = ct.special_tokens({k: getattr(tok, k) for k in ct.SPECIAL_KEYS})
                mine = ct.clip_tokenizer_json(vocab, merges, specials)
                diffs = ct.compare_tokenizer_json(data, mine)
                if diffs:
                    notes.append("tokenizer: the fast tokenizer's JSON differs from the layout built from "
                                 f"vocab.json + merges.txt in {', '.join(diffs)} (the fast one is written)")
            except Exception as e:  # noqa: BLE001
                notes.append(f"tokenizer: could not cross-check the fast tokenizer ({e})")
    else:
        folder = os.path.join(args.checkpoint, "tokenizer")
        if os.path.isdir(folder):
            data, settings = ct.clip_tokenizer_from_folder(folder)
        else:  # a hub id: fetch the four small files through huggingface_hub's cache
            from huggingface_hub import hf_hub_download
            with tempfile.TemporaryDirectory(prefix="edict-tokenizer-") as tmp:
                for fname in ("vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"):
                    try:
                        p = hf_hub_download(args.checkpoint, fname, subfolder="tokenizer", **kw)
                        shutil.copy(p, os.path.join(tmp, fname))
                    except Exception:  # noqa: BLE001
                        if fname in ("vocab.json", "merges.txt"):
                            raise
                data, settings = ct.clip_tokenizer_from_folder(tmp)
        how = "built from tokenizer/vocab.json + merges.txt (CLIPConverter layout)"
    with open(os.path.join(out_dir, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(data, f, ensure_ascii=False)
    return settings, how, notes


# ---------------------------------------------------------------------------------------------
# main


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Export a Stable Diffusion 1.x/2.x diffusers checkpoint to an edict model folder "
                    "(docs/model-format.md).")
    p.add_argument("checkpoint", help="diffusers checkpoint folder or hub id")
    p.add_argument("out", help="output model folder (created; existing files are overwritten)")
    p.add_argument("--dtype", choices=("float32", "float16"), default="float32",
                   help="dtype of the exported weights (default float32; the engine casts at load). "
                        "float16 needs a CUDA --device")
    p.add_argument("--device", default="cpu", help="device to trace and check on: cpu, cuda, cuda:N (default cpu)")
    p.add_argument("--name", help="model.json name (default: the checkpoint's folder name)")
    p.add_argument("--description", help="model.json description")
    p.add_argument("--revision", help="hub revision (branch, tag or commit)")
    p.add_argument("--variant", help='weights variant, e.g. "fp16" (loaded and upcast to --dtype)')
    p.add_argument("--attention", choices=("auto", "sdpa", "bmm"), default="auto",
                   help="attention kernel in the traced graphs: sdpa = torch.nn.functional."
                        "scaled_dot_product_attention (torch >= 2), bmm = bmm + softmax; auto = sdpa "
                        "when the torch has it")
    p.add_argument("--check-dtypes", default=None,
                   help="comma list of dtypes to cast each loaded file to and run once "
                        "(default: float64 on CPU, float64,float16 on CUDA)")
    p.add_argument("--cuda-dtype", choices=mf.DTYPES, default="float16",
                   help="model.json dtypes.cuda: default UNet dtype on CUDA (default float16)")
    p.add_argument("--slow-tokenizer", action="store_true",
                   help="build tokenizer.json from vocab.json + merges.txt even when `tokenizers` is installed")
    p.add_argument("--allow-device-constants", action="store_true",
                   help="accept traced graphs that create tensors on a fixed device")
    p.add_argument("--threads", type=int, help="torch intra-op threads")
    p.add_argument("--seed", type=int, default=0, help="seed of the random check inputs")
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    t_start = time.time()
    try:
        import torch
        import diffusers
        import transformers
        from diffusers import AutoencoderKL, UNet2DConditionModel
        from transformers import CLIPTextModel
    except ImportError as e:
        log(f"error: {e}. The export needs torch, diffusers and transformers (pip install torch "
            "diffusers transformers).")
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    if args.dtype == "float16" and device.type != "cuda":
        log("error: --dtype float16 needs --device cuda (float16 convolutions do not run on the CPU)")
        return 2
    export_dtype = getattr(torch, args.dtype)
    has_sdpa = hasattr(torch.nn.functional, "scaled_dot_product_attention")
    use_sdpa = has_sdpa if args.attention == "auto" else args.attention == "sdpa"
    if use_sdpa and not has_sdpa:
        log("error: --attention sdpa needs torch >= 2.0")
        return 2
    if args.check_dtypes is None:
        check_dtypes = ["float64"] + (["float16"] if device.type == "cuda" else [])
    else:
        check_dtypes = [d for d in args.check_dtypes.split(",") if d]
    for d in check_dtypes:
        if d not in mf.DTYPES:
            log(f"error: --check-dtypes: {d!r} is not one of {', '.join(mf.DTYPES)}")
            return 2

    versions = {"torch": torch.__version__, "diffusers": diffusers.__version__,
                "transformers": transformers.__version__}
    log(f"export {args.checkpoint} -> {args.out}")
    log("  " + ", ".join(f"{k} {v}" for k, v in versions.items())
        + f"; device {device}; dtype {args.dtype}; attention {'sdpa' if use_sdpa else 'bmm'}")
    kw = {k: v for k, v in (("revision", args.revision),) if v}
    wkw = dict(kw, **({"variant": args.variant} if args.variant else {}))

    # 1. configs -> manifest (fails before any weights are loaded)
    from diffusers import DDIMScheduler
    from transformers import CLIPTextConfig
    sched_cfg = DDIMScheduler.load_config(args.checkpoint, subfolder="scheduler", **kw)
    unet_cfg = UNet2DConditionModel.load_config(args.checkpoint, subfolder="unet", **kw)
    vae_cfg = AutoencoderKL.load_config(args.checkpoint, subfolder="vae", **kw)
    te_cfg = CLIPTextConfig.from_pretrained(args.checkpoint, subfolder="text_encoder", **kw).to_dict()
    os.makedirs(args.out, exist_ok=True)
    stale = os.path.join(args.out, "model.json")
    if os.path.exists(stale):
        os.remove(stale)
    tok_settings, tok_how, notes = export_tokenizer(args, args.out)
    name = args.name or os.path.basename(os.path.normpath(args.checkpoint)) or "stable-diffusion"
    build = dict(
        name=name, scheduler_config=sched_cfg, vae_config=vae_cfg, unet_config=unet_cfg,
        text_encoder_config=te_cfg, tokenizer_max_length=tok_settings.get("modelMaxLength"),
        pad_id=tok_settings["padId"], eos_id=tok_settings["eosId"], description=args.description,
        dtypes={"cpu": "float32", "cuda": args.cuda_dtype})
    try:
        manifest = mf.build_sd_manifest(warnings=notes, **build)
    except mf.ModelFolderError as e:
        log("error: this checkpoint does not fit the model format:\n  " + "\n  ".join(e.problems))
        return 1
    for n in notes:
        log(f"  warning: {n}")
    L = manifest["text"]["maxLength"]
    D = manifest["text"]["hiddenSize"]
    C = manifest["latent"]["channels"]
    ds = manifest["latent"]["downsample"]
    mult = manifest["image"]["multipleOf"]
    T = manifest["scheduler"]["numTrainTimesteps"]
    vocab = int(te_cfg.get("vocab_size", 49408))
    log(f"  tokenizer: {tok_how}; pad {tok_settings['padId']}, eos {tok_settings['eosId']}, max length {L}")

    w = define_wrappers(torch)
    gen = torch.Generator().manual_seed(args.seed)

    def randn(*shape):
        return torch.randn(*shape, generator=gen).to(device=device, dtype=export_dtype)

    def ids(b, length):
        x = torch.randint(0, vocab, (b, length), generator=gen)
        x[:, 0] = tok_settings.get("bosId") or 49406
        x[:, -1] = tok_settings["eosId"] if tok_settings["eosId"] is not None else x[:, -1]
        return x.to(device)

    def cast_floats(inputs, dtype):
        return tuple(t.to(dtype) if t.is_floating_point() else t for t in inputs)

    # sizes: traced at batch 2 and 2x2 multiples; checked at batch 1 (1x1) and batch 3 (3x2)
    trace_hw = (2 * mult, 2 * mult)
    check_hw = [(1, (mult, mult)), (3, (3 * mult, 2 * mult))]
    checker = Checker(torch, device, args.dtype, check_dtypes, args.allow_device_constants)
    _warnings.filterwarnings("ignore", category=torch.jit.TracerWarning)

    def export(name, fname, wrapper, example, cases, refs):
        """Trace and save the wrapper, then check the saved file against `refs`, the outputs
        of the unmodified eager module on `cases` (computed before any patching), and, cast
        to each check dtype, against the wrapper cast the same way. Consumes the wrapper."""
        path = os.path.join(args.out, fname)
        t0 = time.time()
        with torch.no_grad():
            traced = torch.jit.trace(wrapper, example, check_trace=False)
            torch.jit.save(traced, path)
            del traced
        log(f"  {fname}: traced and saved in {time.time() - t0:.1f} s ({os.path.getsize(path) / 2**20:.1f} MiB)")
        eager_refs = checker.eager_in_dtypes(wrapper, cases[0][1], cast_floats)
        for t in list(wrapper.parameters()) + list(wrapper.buffers()):  # free before loading
            t.data = torch.empty(0, dtype=t.dtype, device=t.device)
        checker.run(name, path, cases, refs, eager_refs, cast_floats)

    def load(cls, sub):
        m = cls.from_pretrained(args.checkpoint, subfolder=sub, torch_dtype=torch.float32, **wkw)
        return m.eval().requires_grad_(False).to(device=device, dtype=export_dtype)

    # 2. text encoder
    log("text encoder")
    te = CLIPTextModel.from_pretrained(args.checkpoint, subfolder="text_encoder", torch_dtype=torch.float32, **wkw)
    te = te.eval().requires_grad_(False).to(device=device, dtype=export_dtype)
    te_cases = [(f"batch 1, length {L}", (ids(1, L),)),
                (f"batch 3, length {max(2, L // 2)}", (ids(3, max(2, L // 2)),))]
    with torch.no_grad():
        te_refs = [te(*x).last_hidden_state for _, x in te_cases]
    export("text_encoder", "text_encoder.pt", w["TextEncoderExport"](te), (ids(2, L),), te_cases, te_refs)
    del te

    # 3. UNet
    log("unet")
    unet = load(UNet2DConditionModel, "unet")

    def unet_inputs(b, hw):
        h, wd = hw[0] // ds, hw[1] // ds
        t = torch.randint(0, T, (b,), generator=gen).to(device)
        return (randn(b, C, h, wd), t, randn(b, L, D))

    unet_cases = [(f"batch {b}, latent {hw[0] // ds}x{hw[1] // ds}", unet_inputs(b, hw)) for b, hw in check_hw]
    with torch.no_grad():
        unet_refs = [unet(*x).sample for _, x in unet_cases]
    patch_unet(unet, w, use_sdpa)
    export("unet", "unet.pt", w["UNetExport"](unet), unet_inputs(2, trace_hw), unet_cases, unet_refs)
    del unet, unet_refs

    # 4. VAE
    log("vae")
    vae = load(AutoencoderKL, "vae")
    enc_cases = [(f"batch {b}, image {hw[0]}x{hw[1]}", (randn(b, 3, *hw).clamp(-1, 1),)) for b, hw in check_hw]
    dec_cases = [(f"batch {b}, latent {hw[0] // ds}x{hw[1] // ds}", (randn(b, C, hw[0] // ds, hw[1] // ds),))
                 for b, hw in check_hw]
    with torch.no_grad():
        enc_refs = [vae.encode(*x).latent_dist.parameters for _, x in enc_cases]
        dec_refs = [vae.decode(*x).sample for _, x in dec_cases]
    vae.set_attn_processor(w["DtypeFollowingAttnProcessor"](use_sdpa))
    export("vae_encoder", "vae_encoder.pt", w["VaeEncoderExport"](vae),
           (randn(2, 3, *trace_hw).clamp(-1, 1),), enc_cases, enc_refs)
    export("vae_decoder", "vae_decoder.pt", w["VaeDecoderExport"](vae),
           (randn(2, C, trace_hw[0] // ds, trace_hw[1] // ds),), dec_cases, dec_refs)
    del vae, enc_refs, dec_refs

    # 5. manifest
    manifest["source"] = {
        "checkpoint": args.checkpoint,
        **({"revision": args.revision} if args.revision else {}),
        **({"variant": args.variant} if args.variant else {}),
        "exporter": "scripts/export/export_sd.py",
        **versions,
        "exportDtype": args.dtype,
        "traceDevice": str(device),
        "attention": "sdpa" if use_sdpa else "bmm",
        "tokenizer": tok_how,
        "date": datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0).isoformat(),
        "checks": {k: {"maxRelDiff": v["maxRelDiff"],
                       "dtypes": {d: r.get("maxAbsDiff") for d, r in v["dtypes"].items()}}
                   for k, v in checker.results.items()},
    }
    if checker.failures:
        log(f"\nFAILED ({len(checker.failures)} problem(s)); model.json not written:")
        for f in checker.failures:
            log(f"  - {f}")
        if use_sdpa:
            log("  (if the failures are in attention, try --attention bmm)")
        return 1
    mf.write_manifest(args.out, manifest)
    problems = mf.validate_model_dir(args.out)
    if problems:
        log("FAILED: the written folder does not validate:\n  " + "\n  ".join(problems))
        return 1
    log(f"\nok: {args.out} ({time.time() - t_start:.0f} s). Tolerance: max|loaded - eager| <= "
        f"{TOLERANCE[args.dtype]:g} * max(1, max|eager|); checked dtypes: {', '.join(check_dtypes) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
