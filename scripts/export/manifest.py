"""The model folder contract (docs/model-format.md) as plain functions: no torch, no diffusers.

- ``build_sd_manifest(...)`` turns a Stable Diffusion checkpoint's own configs (scheduler, VAE,
  UNet, text encoder, tokenizer settings) into the ``model.json`` dict.
- ``validate_manifest(m)`` and ``validate_model_dir(path)`` return a list of problems (empty when
  the folder is valid); ``ModelFolderError`` carries them when raised.

Imported by ``export_sd.py`` and ``validate_model.py``; tested by ``test_manifest.py`` with the
standard library only, so CI can run it with any python3.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Dict, Iterable, List, Mapping, Optional

FORMAT = "edict-model"
VERSION = 1

COMPONENT_KEYS = ("textEncoder", "unet", "vaeEncoder", "vaeDecoder", "tokenizer")
DEFAULT_COMPONENTS = {
    "textEncoder": "text_encoder.pt",
    "unet": "unet.pt",
    "vaeEncoder": "vae_encoder.pt",
    "vaeDecoder": "vae_decoder.pt",
    "tokenizer": "tokenizer.json",
}
DTYPES = ("float16", "bfloat16", "float32", "float64")
DEFAULT_DTYPES = {"cpu": "float32", "cuda": "float16"}
BETA_SCHEDULES = ("scaled_linear", "linear")
PREDICTION_TYPES = ("epsilon", "v_prediction")
SCHEDULER_KEYS = ("numTrainTimesteps", "betaStart", "betaEnd", "betaSchedule", "setAlphaToOne",
                  "stepsOffset", "predictionType", "clipSample", "thresholding")

# diffusers' DDIMScheduler.__init__ defaults: what a diffusers pipeline gets for a key that the
# checkpoint's scheduler_config.json leaves out once it swaps its scheduler for DDIM (SD 1.x
# checkpoints ship a PNDMScheduler config without `prediction_type`, for example).
DDIM_DEFAULTS = {
    "num_train_timesteps": 1000,
    "beta_start": 0.0001,
    "beta_end": 0.02,
    "beta_schedule": "linear",
    "trained_betas": None,
    "set_alpha_to_one": True,
    "steps_offset": 0,
    "prediction_type": "epsilon",
    "timestep_spacing": "leading",
    "rescale_betas_zero_snr": False,
    "thresholding": False,
}
# DDIMScheduler defaults clip_sample to True, but neither the engine nor the EDICT reference code
# clips the predicted sample; a config that leaves it out is taken as False, with a warning.
# AutoencoderKL's default; SD 1.x vae/config.json files predate the key.
DEFAULT_VAE_SCALING_FACTOR = 0.18215


class ModelFolderError(ValueError):
    """Raised with every problem found, one per line."""

    def __init__(self, problems: Iterable[str]):
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


# ---------------------------------------------------------------------------------------------
# configs -> model.json


def _get(config: Any, key: str, default: Any = None) -> Any:
    """Reads a key from a dict, a diffusers FrozenDict or a transformers config object."""
    if config is None:
        return default
    if isinstance(config, Mapping):
        return config.get(key, default)
    return getattr(config, key, default)


def scheduler_settings(scheduler_config: Mapping[str, Any],
                       warnings: Optional[List[str]] = None) -> Dict[str, Any]:
    """The manifest's ``scheduler`` block from a diffusers scheduler config (any scheduler
    class: the engine runs DDIM with the checkpoint's betas, offset and prediction type).
    Keys the config leaves out (or sets to null) take DDIMScheduler's defaults.

    Raises ModelFolderError for settings the engine cannot reproduce (trained betas, another
    beta schedule or prediction type, zero-terminal-SNR rescaling); appends to ``warnings``
    when the checkpoint asks for a timestep spacing other than the engine's "leading" one."""
    c = dict(DDIM_DEFAULTS)
    c.update({k: v for k, v in dict(scheduler_config).items() if v is not None})
    problems = []
    if c.get("trained_betas") is not None:
        problems.append("scheduler: trained_betas is set; the engine only builds betas from "
                        "beta_start/beta_end/beta_schedule")
    if c["beta_schedule"] not in BETA_SCHEDULES:
        problems.append(f"scheduler: beta_schedule {c['beta_schedule']!r} is not supported "
                        f"(supported: {', '.join(BETA_SCHEDULES)})")
    if c["prediction_type"] not in PREDICTION_TYPES:
        problems.append(f"scheduler: prediction_type {c['prediction_type']!r} is not supported "
                        f"(supported: {', '.join(PREDICTION_TYPES)})")
    if c.get("rescale_betas_zero_snr"):
        problems.append("scheduler: rescale_betas_zero_snr is set; the engine does not rescale betas")
    if c.get("clip_sample"):
        problems.append("scheduler: clip_sample is true; the engine does not clip the predicted sample")
    if c.get("thresholding"):
        problems.append("scheduler: thresholding is true; the engine does not apply dynamic thresholding")
    if "clip_sample" not in c and warnings is not None:
        warnings.append("scheduler: the config does not set clip_sample; DDIMScheduler would default it "
                        "to true (clip the predicted sample to [-1, 1]); the engine never clips")
    if c.get("timestep_spacing", "leading") != "leading" and warnings is not None:
        warnings.append(f"scheduler: the checkpoint asks for timestep_spacing {c['timestep_spacing']!r}; "
                        "the engine spaces DDIM timesteps as diffusers' 'leading' "
                        "(t = k * (T // N) + steps_offset)")
    if problems:
        raise ModelFolderError(problems)
    return {
        "numTrainTimesteps": int(c["num_train_timesteps"]),
        "betaStart": float(c["beta_start"]),
        "betaEnd": float(c["beta_end"]),
        "betaSchedule": str(c["beta_schedule"]),
        "setAlphaToOne": bool(c["set_alpha_to_one"]),
        "stepsOffset": int(c["steps_offset"]),
        "predictionType": str(c["prediction_type"]),
        "clipSample": False,
        "thresholding": False,
    }


def vae_downsample(vae_config: Mapping[str, Any]) -> int:
    """Image side / latent side of an AutoencoderKL: one 2x down-sampling per block but the last."""
    blocks = _get(vae_config, "block_out_channels")
    if not blocks:
        raise ModelFolderError(["vae: config has no block_out_channels"])
    return 2 ** (len(blocks) - 1)


def unet_downsamplings(unet_config: Mapping[str, Any]) -> int:
    """How many 2x down-samplings a UNet2DConditionModel does (one per down block but the last)."""
    blocks = _get(unet_config, "down_block_types") or _get(unet_config, "block_out_channels")
    if not blocks:
        raise ModelFolderError(["unet: config has neither down_block_types nor block_out_channels"])
    return len(blocks) - 1


def _sample_hw(sample_size: Any) -> List[int]:
    if isinstance(sample_size, (list, tuple)):
        if len(sample_size) != 2:
            raise ModelFolderError([f"unet: sample_size {sample_size!r} is not [height, width]"])
        return [int(sample_size[0]), int(sample_size[1])]
    return [int(sample_size), int(sample_size)]


def build_sd_manifest(
    *,
    name: str,
    scheduler_config: Mapping[str, Any],
    vae_config: Mapping[str, Any],
    unet_config: Mapping[str, Any],
    text_encoder_config: Mapping[str, Any],
    tokenizer_max_length: Optional[int],
    pad_id: int,
    eos_id: Optional[int],
    source: Optional[Mapping[str, Any]] = None,
    description: Optional[str] = None,
    dtypes: Optional[Mapping[str, str]] = None,
    components: Optional[Mapping[str, str]] = None,
    warnings: Optional[List[str]] = None,
) -> Dict[str, Any]:
    """model.json for a Stable Diffusion 1.x/2.x checkpoint, from its own configs.

    ``tokenizer_max_length`` is the tokenizer's ``model_max_length`` (77 for CLIP); when missing
    or absurd (slow tokenizers without a config report 1e30) the text encoder's
    ``max_position_embeddings`` is used. ``pad_id``/``eos_id`` are the tokenizer's pad and eos
    ids (SD 1.x pads with ``<|endoftext|>`` = 49407, SD 2.x with ``!`` = 0).
    Raises ModelFolderError when the configs do not fit together; appends to ``warnings``
    what the engine will do differently from the checkpoint's own pipeline."""
    problems: List[str] = []
    try:
        sched = scheduler_settings(scheduler_config, warnings)
    except ModelFolderError as e:
        problems += e.problems
        sched = None

    downsample = vae_downsample(vae_config)
    latent_channels = int(_get(vae_config, "latent_channels", 4))
    scaling = _get(vae_config, "scaling_factor")
    scaling = DEFAULT_VAE_SCALING_FACTOR if scaling is None else float(scaling)
    if _get(vae_config, "shift_factor") not in (None, 0, 0.0):
        problems.append("vae: shift_factor is set; the engine only scales latents (SD 1.x/2.x VAEs have none)")

    unet_in = int(_get(unet_config, "in_channels", 4))
    unet_out = int(_get(unet_config, "out_channels", 4))
    if unet_in != latent_channels or unet_out != latent_channels:
        problems.append(f"unet: in/out channels {unet_in}/{unet_out} differ from the VAE's "
                        f"latent channels {latent_channels} (inpainting and depth UNets are not supported)")
    for key in ("class_embed_type", "addition_embed_type", "num_class_embeds"):
        if _get(unet_config, key) is not None:
            problems.append(f"unet: {key} is set; only plain text-conditioned SD 1.x/2.x UNets are supported")

    hidden = _get(text_encoder_config, "hidden_size")
    if hidden is None:
        problems.append("text encoder: config has no hidden_size")
        hidden = 0
    hidden = int(hidden)
    cross = _get(unet_config, "cross_attention_dim")
    if isinstance(cross, (list, tuple)):
        cross = cross[0] if len(set(cross)) == 1 else None
    if cross is not None and int(cross) != hidden:
        problems.append(f"unet: cross_attention_dim {cross} differs from the text encoder's hidden_size {hidden}")

    positions = _get(text_encoder_config, "max_position_embeddings")
    max_len = tokenizer_max_length
    if max_len is None or max_len <= 0 or (positions is not None and max_len > int(positions)):
        max_len = positions
    if max_len is None:
        problems.append("text: no tokenizer model_max_length nor text encoder max_position_embeddings")
        max_len = 0
    max_len = int(max_len)
    vocab = _get(text_encoder_config, "vocab_size")
    for label, tid in (("pad", pad_id), ("eos", eos_id)):
        if tid is None:
            if label == "pad":
                problems.append("text: the tokenizer has no pad token")
            continue
        if int(tid) < 0 or (vocab is not None and int(tid) >= int(vocab)):
            problems.append(f"text: {label} id {tid} is outside the text encoder's vocabulary ({vocab})")

    sample_size = _get(unet_config, "sample_size")
    if sample_size is None:
        problems.append("unet: config has no sample_size")
        height = width = 0
    else:
        h, w = _sample_hw(sample_size)
        height, width = h * downsample, w * downsample
    multiple_of = downsample * 2 ** unet_downsamplings(unet_config)

    if problems:
        raise ModelFolderError(problems)

    manifest: Dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "name": name,
    }
    if description:
        manifest["description"] = description
    manifest.update({
        "components": dict(components or DEFAULT_COMPONENTS),
        "image": {"width": width, "height": height, "multipleOf": multiple_of},
        "latent": {"channels": latent_channels, "downsample": downsample, "scalingFactor": scaling},
        "text": {"maxLength": max_len, "hiddenSize": hidden, "padId": int(pad_id),
                 "eosId": None if eos_id is None else int(eos_id)},
        "scheduler": sched,
        "dtypes": dict(dtypes or DEFAULT_DTYPES),
        "source": dict(source or {}),
    })
    problems = validate_manifest(manifest)
    if problems:
        raise ModelFolderError(problems)
    return manifest


# ---------------------------------------------------------------------------------------------
# validation


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _block(m: Mapping[str, Any], key: str, problems: List[str]) -> Mapping[str, Any]:
    v = m.get(key)
    if not isinstance(v, Mapping):
        problems.append(f"{key}: missing or not an object")
        return {}
    return v


def validate_manifest(m: Any) -> List[str]:
    """Every way ``m`` breaks the model.json contract (empty list: valid)."""
    p: List[str] = []
    if not isinstance(m, Mapping):
        return ["model.json: top level is not an object"]
    if m.get("format") != FORMAT:
        p.append(f"format: expected {FORMAT!r}, got {m.get('format')!r}")
    if m.get("version") != VERSION:
        p.append(f"version: expected {VERSION}, got {m.get('version')!r}")
    if not isinstance(m.get("name"), str) or not m.get("name"):
        p.append("name: missing or not a non-empty string")
    if "description" in m and not isinstance(m["description"], str):
        p.append("description: not a string")

    comps = _block(m, "components", p)
    for k in COMPONENT_KEYS:
        f = comps.get(k)
        if not isinstance(f, str) or not f:
            p.append(f"components.{k}: missing or not a file name")
        elif os.path.isabs(f) or ".." in f.replace("\\", "/").split("/"):
            p.append(f"components.{k}: {f!r} must be a path inside the folder")

    image = _block(m, "image", p)
    latent = _block(m, "latent", p)
    for k in ("width", "height", "multipleOf"):
        if not _is_int(image.get(k)) or image.get(k) <= 0:
            p.append(f"image.{k}: missing or not a positive integer")
    for k in ("channels", "downsample"):
        if not _is_int(latent.get(k)) or latent.get(k) <= 0:
            p.append(f"latent.{k}: missing or not a positive integer")
    if not _is_num(latent.get("scalingFactor")) or latent.get("scalingFactor") <= 0:
        p.append("latent.scalingFactor: missing or not a positive number")
    mult, ds = image.get("multipleOf"), latent.get("downsample")
    if _is_int(mult) and _is_int(ds) and mult > 0 and ds > 0:
        if mult % ds:
            p.append(f"image.multipleOf {mult} is not a multiple of latent.downsample {ds}")
        for k in ("width", "height"):
            v = image.get(k)
            if _is_int(v) and v > 0 and v % mult:
                p.append(f"image.{k} {v} is not a multiple of image.multipleOf {mult}")

    text = _block(m, "text", p)
    for k in ("maxLength", "hiddenSize"):
        if not _is_int(text.get(k)) or text.get(k) <= 0:
            p.append(f"text.{k}: missing or not a positive integer")
    if _is_int(text.get("maxLength")) and 0 < text["maxLength"] < 2:
        p.append("text.maxLength: must leave room for at least one token besides eos")
    if not _is_int(text.get("padId")) or text.get("padId") < 0:
        p.append("text.padId: missing or not a non-negative integer")
    if "eosId" not in text:
        p.append("text.eosId: missing (null when there is none)")
    elif text["eosId"] is not None and (not _is_int(text["eosId"]) or text["eosId"] < 0):
        p.append("text.eosId: not a non-negative integer nor null")

    s = _block(m, "scheduler", p)
    if not _is_int(s.get("numTrainTimesteps")) or s.get("numTrainTimesteps") <= 1:
        p.append("scheduler.numTrainTimesteps: missing or not an integer > 1")
    b0, b1 = s.get("betaStart"), s.get("betaEnd")
    if not _is_num(b0) or not 0 < b0 < 1:
        p.append("scheduler.betaStart: missing or not in (0, 1)")
    if not _is_num(b1) or not 0 < b1 < 1:
        p.append("scheduler.betaEnd: missing or not in (0, 1)")
    if _is_num(b0) and _is_num(b1) and b0 > b1:
        p.append("scheduler.betaStart is larger than scheduler.betaEnd")
    if s.get("betaSchedule") not in BETA_SCHEDULES:
        p.append(f"scheduler.betaSchedule: {s.get('betaSchedule')!r} is not one of {', '.join(BETA_SCHEDULES)}")
    if not isinstance(s.get("setAlphaToOne"), bool):
        p.append("scheduler.setAlphaToOne: missing or not a boolean")
    off = s.get("stepsOffset")
    if not _is_int(off) or off < 0:
        p.append("scheduler.stepsOffset: missing or not a non-negative integer")
    elif _is_int(s.get("numTrainTimesteps")) and off >= s["numTrainTimesteps"]:
        p.append("scheduler.stepsOffset: not below numTrainTimesteps")
    if s.get("predictionType") not in PREDICTION_TYPES:
        p.append(f"scheduler.predictionType: {s.get('predictionType')!r} is not one of {', '.join(PREDICTION_TYPES)}")
    for k in ("clipSample", "thresholding"):
        if k in s and s[k] is not False:
            p.append(f"scheduler.{k}: must be false or absent (the engine implements neither)")
    unknown = sorted(set(s) - set(SCHEDULER_KEYS))
    if unknown:
        p.append(f"scheduler: unknown setting(s) {', '.join(unknown)}")

    d = _block(m, "dtypes", p)
    for dev in ("cpu", "cuda"):
        if d.get(dev) not in DTYPES:
            p.append(f"dtypes.{dev}: {d.get(dev)!r} is not one of {', '.join(DTYPES)}")
    if "source" in m and not isinstance(m["source"], Mapping):
        p.append("source: not an object")
    return p


def _tokenizer_ids(tok: Mapping[str, Any]) -> Optional[set]:
    """Ids a tokenizer.json can produce (model vocabulary plus added tokens), or None if unknown."""
    ids = set()
    model = tok.get("model")
    if not isinstance(model, Mapping):
        return None
    vocab = model.get("vocab")
    if isinstance(vocab, Mapping):
        ids.update(v for v in vocab.values() if _is_int(v))
    elif isinstance(vocab, list):  # Unigram: [[piece, score], ...]
        ids.update(range(len(vocab)))
    else:
        return None
    for t in tok.get("added_tokens") or []:
        if isinstance(t, Mapping) and _is_int(t.get("id")):
            ids.add(t["id"])
    return ids


def validate_model_dir(path: str) -> List[str]:
    """Every way the folder at ``path`` breaks the contract: manifest fields, component files
    present and not empty, tokenizer.json readable with the manifest's pad/eos ids in it."""
    mpath = os.path.join(path, "model.json")
    if not os.path.isdir(path):
        return [f"{path}: not a folder"]
    if not os.path.isfile(mpath):
        return [f"{mpath}: missing"]
    try:
        with open(mpath, encoding="utf-8") as f:
            m = json.load(f)
    except (OSError, ValueError) as e:
        return [f"{mpath}: not readable JSON ({e})"]
    p = validate_manifest(m)
    comps = m.get("components") if isinstance(m, Mapping) else None
    if not isinstance(comps, Mapping):
        return p
    for k in COMPONENT_KEYS:
        f = comps.get(k)
        if not isinstance(f, str) or not f:
            continue
        fp = os.path.join(path, f)
        if not os.path.isfile(fp):
            p.append(f"components.{k}: file {f} is missing")
        elif os.path.getsize(fp) == 0:
            p.append(f"components.{k}: file {f} is empty")
    tf = comps.get("tokenizer")
    if isinstance(tf, str) and os.path.isfile(os.path.join(path, tf)) and os.path.getsize(os.path.join(path, tf)):
        try:
            with open(os.path.join(path, tf), encoding="utf-8") as f:
                tok = json.load(f)
        except (OSError, ValueError) as e:
            p.append(f"components.tokenizer: {tf} is not readable JSON ({e})")
            tok = None
        if tok is not None:
            ids = _tokenizer_ids(tok) if isinstance(tok, Mapping) else None
            if ids is None:
                p.append(f"components.tokenizer: {tf} has no model vocabulary")
            else:
                text = m.get("text") if isinstance(m.get("text"), Mapping) else {}
                for key in ("padId", "eosId"):
                    v = text.get(key)
                    if _is_int(v) and v not in ids:
                        p.append(f"text.{key} {v} is not an id of {tf}")
    return p


def check_model_dir(path: str) -> Dict[str, Any]:
    """The folder's manifest; raises ModelFolderError listing every problem."""
    problems = validate_model_dir(path)
    if problems:
        raise ModelFolderError(problems)
    with open(os.path.join(path, "model.json"), encoding="utf-8") as f:
        return json.load(f)


def write_manifest(path: str, manifest: Mapping[str, Any]) -> None:
    problems = validate_manifest(manifest)
    if problems:
        raise ModelFolderError(problems)
    with open(os.path.join(path, "model.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2)
        f.write("\n")
