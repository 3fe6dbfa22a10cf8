"""Tests of the torch-free export helpers: configs -> model.json, model folder validation, and
the CLIP tokenizer.json builder. Standard library only:

    python3 -m unittest discover -s scripts/export -p 'test_*.py'

The config dicts below are those of the public diffusers checkpoints (the keys that matter
here, as their JSON files have them): runwayml/stable-diffusion-v1-5,
stabilityai/stable-diffusion-2-1 (768, v-prediction) and stabilityai/stable-diffusion-2-base.
"""

from __future__ import annotations

import copy
import io
import json
import os
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import clip_tokenizer as ct  # noqa: E402
import manifest as mf  # noqa: E402
import validate_model  # noqa: E402

DOWN = ["CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"]
UP = ["UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"]

SD15 = {
    "scheduler": {  # scheduler/scheduler_config.json
        "_class_name": "PNDMScheduler", "_diffusers_version": "0.6.0",
        "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True,
        "steps_offset": 1, "trained_betas": None, "clip_sample": False,
    },
    "unet": {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.6.0", "act_fn": "silu",
        "attention_head_dim": 8, "block_out_channels": [320, 640, 1280, 1280],
        "center_input_sample": False, "cross_attention_dim": 768, "down_block_types": DOWN,
        "downsample_padding": 1, "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4,
        "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32,
        "out_channels": 4, "sample_size": 64, "up_block_types": UP,
    },
    "vae": {  # no scaling_factor: the file predates the key
        "_class_name": "AutoencoderKL", "_diffusers_version": "0.6.0", "act_fn": "silu",
        "block_out_channels": [128, 256, 512, 512], "down_block_types": ["DownEncoderBlock2D"] * 4,
        "in_channels": 3, "latent_channels": 4, "layers_per_block": 2, "norm_num_groups": 32,
        "out_channels": 3, "sample_size": 512, "up_block_types": ["UpDecoderBlock2D"] * 4,
    },
    "text_encoder": {
        "architectures": ["CLIPTextModel"], "attention_dropout": 0.0, "bos_token_id": 0,
        "dropout": 0.0, "eos_token_id": 2, "hidden_act": "quick_gelu", "hidden_size": 768,
        "initializer_factor": 1.0, "initializer_range": 0.02, "intermediate_size": 3072,
        "layer_norm_eps": 1e-05, "max_position_embeddings": 77, "model_type": "clip_text_model",
        "num_attention_heads": 12, "num_hidden_layers": 12, "pad_token_id": 1, "projection_dim": 768,
        "torch_dtype": "float32", "transformers_version": "4.22.0.dev0", "vocab_size": 49408,
    },
    "tokenizer_config": {
        "add_prefix_space": False,
        "bos_token": {"__type": "AddedToken", "content": "<|startoftext|>", "lstrip": False,
                      "normalized": True, "rstrip": False, "single_word": False},
        "do_lower_case": True,
        "eos_token": {"__type": "AddedToken", "content": "<|endoftext|>", "lstrip": False,
                      "normalized": True, "rstrip": False, "single_word": False},
        "errors": "replace", "model_max_length": 77, "name_or_path": "openai/clip-vit-large-patch14",
        "pad_token": "<|endoftext|>", "special_tokens_map_file": "./special_tokens_map.json",
        "tokenizer_class": "CLIPTokenizer",
        "unk_token": {"__type": "AddedToken", "content": "<|endoftext|>", "lstrip": False,
                      "normalized": True, "rstrip": False, "single_word": False},
    },
}

SD21_768 = {
    "scheduler": {
        "_class_name": "DDIMScheduler", "_diffusers_version": "0.8.0",
        "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "clip_sample": False, "num_train_timesteps": 1000, "prediction_type": "v_prediction",
        "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
    },
    "unet": {
        "_class_name": "UNet2DConditionModel", "_diffusers_version": "0.10.0.dev0", "act_fn": "silu",
        "attention_head_dim": [5, 10, 20, 20], "block_out_channels": [320, 640, 1280, 1280],
        "center_input_sample": False, "cross_attention_dim": 1024, "down_block_types": DOWN,
        "downsample_padding": 1, "dual_cross_attention": False, "flip_sin_to_cos": True, "freq_shift": 0,
        "in_channels": 4, "layers_per_block": 2, "mid_block_scale_factor": 1, "norm_eps": 1e-05,
        "norm_num_groups": 32, "num_class_embeds": None, "only_cross_attention": False,
        "out_channels": 4, "sample_size": 96, "up_block_types": UP, "use_linear_projection": True,
        "upcast_attention": True,
    },
    "vae": dict(SD15["vae"], sample_size=768, _diffusers_version="0.8.0"),
    "text_encoder": dict(
        SD15["text_encoder"], hidden_act="gelu", hidden_size=1024, intermediate_size=4096,
        num_attention_heads=16, num_hidden_layers=23, projection_dim=512,
        transformers_version="4.25.0.dev0"),
    "tokenizer_config": dict(SD15["tokenizer_config"], pad_token="!",
                             name_or_path="stabilityai/stable-diffusion-2-1"),
}

SD2_BASE = {
    "scheduler": {
        "_class_name": "PNDMScheduler", "_diffusers_version": "0.8.0",
        "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
        "clip_sample": False, "num_train_timesteps": 1000, "prediction_type": "epsilon",
        "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1, "trained_betas": None,
    },
    "unet": dict(SD21_768["unet"], sample_size=64, upcast_attention=False),
    "vae": dict(SD15["vae"], sample_size=512, _diffusers_version="0.8.0"),
    "text_encoder": SD21_768["text_encoder"],
    "tokenizer_config": dict(SD21_768["tokenizer_config"], name_or_path="stabilityai/stable-diffusion-2-base"),
}


def build(ckpt, **over):
    tok = ckpt["tokenizer_config"]
    pad = 49407 if tok["pad_token"] == "<|endoftext|>" else 0
    kw = dict(name="sd", scheduler_config=ckpt["scheduler"], vae_config=ckpt["vae"],
              unet_config=ckpt["unet"], text_encoder_config=ckpt["text_encoder"],
              tokenizer_max_length=tok["model_max_length"], pad_id=pad, eos_id=49407,
              source={"checkpoint": "test"})
    kw.update(over)
    return mf.build_sd_manifest(**kw)


class BuildManifestTest(unittest.TestCase):
    def test_sd15(self):
        m = build(SD15)
        self.assertEqual(mf.validate_manifest(m), [])
        self.assertEqual(m["format"], "edict-model")
        self.assertEqual(m["version"], 1)
        self.assertEqual(m["image"], {"width": 512, "height": 512, "multipleOf": 64})
        self.assertEqual(m["latent"], {"channels": 4, "downsample": 8, "scalingFactor": 0.18215})
        self.assertEqual(m["text"], {"maxLength": 77, "hiddenSize": 768, "padId": 49407, "eosId": 49407})
        self.assertEqual(m["scheduler"], {
            "numTrainTimesteps": 1000, "betaStart": 0.00085, "betaEnd": 0.012,
            "betaSchedule": "scaled_linear", "setAlphaToOne": False, "stepsOffset": 1,
            "predictionType": "epsilon", "clipSample": False, "thresholding": False})
        self.assertEqual(m["dtypes"], {"cpu": "float32", "cuda": "float16"})
        self.assertEqual(m["components"], mf.DEFAULT_COMPONENTS)
        self.assertEqual(m["source"], {"checkpoint": "test"})
        json.dumps(m)  # plain JSON

    def test_sd21_768_v(self):
        m = build(SD21_768)
        self.assertEqual(m["image"], {"width": 768, "height": 768, "multipleOf": 64})
        self.assertEqual(m["text"], {"maxLength": 77, "hiddenSize": 1024, "padId": 0, "eosId": 49407})
        self.assertEqual(m["scheduler"]["predictionType"], "v_prediction")
        self.assertEqual(m["scheduler"]["stepsOffset"], 1)
        self.assertFalse(m["scheduler"]["setAlphaToOne"])

    def test_sd2_base(self):
        m = build(SD2_BASE)
        self.assertEqual(m["image"], {"width": 512, "height": 512, "multipleOf": 64})
        self.assertEqual(m["scheduler"]["predictionType"], "epsilon")
        self.assertEqual(m["text"]["hiddenSize"], 1024)
        self.assertEqual(m["text"]["padId"], 0)

    def test_scaling_factor_from_config(self):
        m = build(SD15, vae_config=dict(SD15["vae"], scaling_factor=0.13025))
        self.assertEqual(m["latent"]["scalingFactor"], 0.13025)

    def test_ddim_defaults_for_missing_keys(self):
        s = mf.scheduler_settings({"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012})
        self.assertEqual(s["numTrainTimesteps"], 1000)
        self.assertTrue(s["setAlphaToOne"])  # DDIMScheduler's default
        self.assertEqual(s["stepsOffset"], 0)
        self.assertEqual(s["predictionType"], "epsilon")

    def test_clip_sample_and_thresholding_refused(self):
        base = {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012, "clip_sample": False}
        for key in ("clip_sample", "thresholding"):
            with self.assertRaises(mf.ModelFolderError) as ctx:
                mf.scheduler_settings(dict(base, **{key: True}))
            self.assertIn(f"{key} is true", str(ctx.exception))
        s = mf.scheduler_settings(dict(base, thresholding=False))
        self.assertIs(s["clipSample"], False)
        self.assertIs(s["thresholding"], False)

    def test_missing_clip_sample_warns_not_clipped(self):
        warnings = []
        s = mf.scheduler_settings({"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012}, warnings)
        self.assertIs(s["clipSample"], False)
        self.assertTrue(any("clip_sample" in w and "never clips" in w for w in warnings), warnings)
        warnings = []
        mf.scheduler_settings({"clip_sample": False}, warnings)
        self.assertFalse(any("clip_sample" in w for w in warnings), warnings)

    def test_validate_refuses_unknown_scheduler_keys(self):
        m = build(SD15)
        m["scheduler"]["clipSample"] = True
        m["scheduler"]["timestepSpacing"] = "trailing"
        problems = mf.validate_manifest(m)
        self.assertTrue(any("clipSample: must be false" in p for p in problems), problems)
        self.assertTrue(any("unknown setting(s) timestepSpacing" in p for p in problems), problems)

    def test_max_length_falls_back_to_positions(self):
        m = build(SD15, tokenizer_max_length=int(1e30))  # slow tokenizer without a config
        self.assertEqual(m["text"]["maxLength"], 77)
        m = build(SD15, tokenizer_max_length=None)
        self.assertEqual(m["text"]["maxLength"], 77)

    def test_rectangular_sample_size(self):
        m = build(SD15, unet_config=dict(SD15["unet"], sample_size=[64, 96]))
        self.assertEqual((m["image"]["height"], m["image"]["width"]), (512, 768))

    def test_timestep_spacing_warns(self):
        warnings = []
        build(SD15, scheduler_config=dict(SD15["scheduler"], timestep_spacing="trailing"), warnings=warnings)
        self.assertEqual(len(warnings), 1)
        self.assertIn("trailing", warnings[0])

    def test_dtypes_and_description(self):
        m = build(SD15, dtypes={"cpu": "float32", "cuda": "bfloat16"}, description="SD 1.5")
        self.assertEqual(m["dtypes"]["cuda"], "bfloat16")
        self.assertEqual(m["description"], "SD 1.5")

    def assertProblem(self, fragment, **over):
        with self.assertRaises(mf.ModelFolderError) as cm:
            build(SD15, **over)
        self.assertTrue(any(fragment in p for p in cm.exception.problems), cm.exception.problems)

    def test_rejects_unsupported_checkpoints(self):
        sch = SD15["scheduler"]
        self.assertProblem("trained_betas", scheduler_config=dict(sch, trained_betas=[0.1, 0.2]))
        self.assertProblem("beta_schedule", scheduler_config=dict(sch, beta_schedule="squaredcos_cap_v2"))
        self.assertProblem("prediction_type", scheduler_config=dict(sch, prediction_type="sample"))
        self.assertProblem("rescale_betas_zero_snr", scheduler_config=dict(sch, rescale_betas_zero_snr=True))
        self.assertProblem("in/out channels", unet_config=dict(SD15["unet"], in_channels=9))  # inpainting
        self.assertProblem("cross_attention_dim", text_encoder_config=SD21_768["text_encoder"])
        self.assertProblem("class_embed_type", unet_config=dict(SD15["unet"], class_embed_type="timestep"))
        self.assertProblem("pad id", pad_id=50000)
        self.assertProblem("multiple of", unet_config=dict(SD15["unet"], sample_size=60))


def write_folder(path, manifest, files=None):
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "model.json"), "w") as f:
        json.dump(manifest, f)
    files = files if files is not None else {
        k: (json.dumps(TINY_TOKENIZER) if k == "tokenizer" else "x") for k in mf.COMPONENT_KEYS}
    for key, content in files.items():
        with open(os.path.join(path, manifest["components"][key]), "w") as f:
            f.write(content)


def tiny_vocab():
    """A CLIP-style byte-level BPE vocabulary of a few words (ids as in a real CLIP vocab:
    byte symbols, their </w> forms, merges, then the two special tokens)."""
    symbols = sorted(set("acthopf!"))
    vocab = {}
    for s in symbols:
        vocab[s] = len(vocab)
    for s in symbols:
        vocab[s + "</w>"] = len(vocab)
    merges = [("a", "t</w>"), ("c", "at</w>"), ("p", "h"), ("ph", "o"), ("t", "o</w>"),
              ("pho", "to</w>"), ("o", "f</w>")]
    for a, b in merges:
        vocab[a + b] = len(vocab)
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    return vocab, merges


_v, _m = tiny_vocab()
TINY_TOKENIZER = ct.clip_tokenizer_json(_v, _m, ct.special_tokens(SD15["tokenizer_config"]))


class ValidateTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = os.path.join(self.tmp.name, "model")
        ids = {t["content"]: t["id"] for t in TINY_TOKENIZER["added_tokens"]}
        self.manifest = build(SD15, text_encoder_config=dict(SD15["text_encoder"], vocab_size=len(_v)),
                              pad_id=ids["<|endoftext|>"], eos_id=ids["<|endoftext|>"])

    def tearDown(self):
        self.tmp.cleanup()

    def test_valid_folder(self):
        write_folder(self.dir, self.manifest)
        self.assertEqual(mf.validate_model_dir(self.dir), [])
        self.assertEqual(mf.check_model_dir(self.dir)["name"], "sd")

    def test_write_manifest_round_trip(self):
        os.makedirs(self.dir)
        mf.write_manifest(self.dir, self.manifest)
        write_folder(self.dir, self.manifest)
        with open(os.path.join(self.dir, "model.json")) as f:
            self.assertEqual(json.load(f), self.manifest)

    def test_missing_and_empty_files(self):
        write_folder(self.dir, self.manifest)
        os.remove(os.path.join(self.dir, "unet.pt"))
        open(os.path.join(self.dir, "vae_decoder.pt"), "w").close()
        problems = mf.validate_model_dir(self.dir)
        self.assertTrue(any("unet.pt is missing" in p for p in problems), problems)
        self.assertTrue(any("vae_decoder.pt is empty" in p for p in problems), problems)
        with self.assertRaises(mf.ModelFolderError):
            mf.check_model_dir(self.dir)

    def test_missing_manifest_and_bad_json(self):
        os.makedirs(self.dir)
        self.assertIn("missing", mf.validate_model_dir(self.dir)[0])
        with open(os.path.join(self.dir, "model.json"), "w") as f:
            f.write("{not json")
        self.assertIn("not readable JSON", mf.validate_model_dir(self.dir)[0])
        self.assertIn("not a folder", mf.validate_model_dir(os.path.join(self.dir, "nope"))[0])

    def broken(self, edit):
        m = copy.deepcopy(self.manifest)
        edit(m)
        return mf.validate_manifest(m)

    def test_wrong_fields(self):
        cases = [
            (lambda m: m.update(format="other"), "format"),
            (lambda m: m.update(version=2), "version"),
            (lambda m: m.pop("name"), "name"),
            (lambda m: m["components"].pop("unet"), "components.unet"),
            (lambda m: m["components"].update(unet="../unet.pt"), "inside the folder"),
            (lambda m: m["image"].update(width=500), "not a multiple of image.multipleOf"),
            (lambda m: m["image"].update(multipleOf=12), "not a multiple of latent.downsample"),
            (lambda m: m["latent"].update(scalingFactor=0), "latent.scalingFactor"),
            (lambda m: m["latent"].update(channels="4"), "latent.channels"),
            (lambda m: m["text"].pop("eosId"), "text.eosId"),
            (lambda m: m["text"].update(padId=-1), "text.padId"),
            (lambda m: m["text"].update(maxLength=True), "text.maxLength"),
            (lambda m: m["scheduler"].update(betaSchedule="cosine"), "scheduler.betaSchedule"),
            (lambda m: m["scheduler"].update(predictionType="sample"), "scheduler.predictionType"),
            (lambda m: m["scheduler"].update(betaStart=0.02), "larger than"),
            (lambda m: m["scheduler"].update(setAlphaToOne=0), "scheduler.setAlphaToOne"),
            (lambda m: m["scheduler"].update(stepsOffset=1000), "stepsOffset"),
            (lambda m: m["dtypes"].update(cuda="half"), "dtypes.cuda"),
            (lambda m: m.pop("scheduler"), "scheduler: missing"),
        ]
        for edit, fragment in cases:
            with self.subTest(fragment=fragment):
                problems = self.broken(edit)
                self.assertTrue(any(fragment in p for p in problems), problems)
        self.assertEqual(self.broken(lambda m: m["text"].update(eosId=None)), [])
        self.assertEqual(mf.validate_manifest([]), ["model.json: top level is not an object"])

    def test_pad_id_not_in_tokenizer(self):
        m = copy.deepcopy(self.manifest)
        m["text"]["padId"] = 12345
        write_folder(self.dir, m)
        problems = mf.validate_model_dir(self.dir)
        self.assertTrue(any("text.padId 12345 is not an id" in p for p in problems), problems)

    def test_cli(self):
        write_folder(self.dir, self.manifest)
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            self.assertEqual(validate_model.main([self.dir]), 0)
        self.assertIn("valid model folder", out.getvalue())
        os.remove(os.path.join(self.dir, "tokenizer.json"))
        with redirect_stdout(out), redirect_stderr(err):
            self.assertEqual(validate_model.main([self.dir]), 1)
        self.assertIn("tokenizer.json is missing", err.getvalue())
        with redirect_stdout(out), redirect_stderr(err):
            self.assertEqual(validate_model.main([]), 2)


class ClipTokenizerTest(unittest.TestCase):
    def test_layout(self):
        tok = TINY_TOKENIZER
        self.assertEqual(list(tok), ["version", "truncation", "padding", "added_tokens", "normalizer",
                                     "pre_tokenizer", "post_processor", "decoder", "model"])
        self.assertEqual(tok["version"], "1.0")
        self.assertEqual([n["type"] for n in tok["normalizer"]["normalizers"]], ["NFC", "Replace", "Lowercase"])
        self.assertEqual(tok["normalizer"]["normalizers"][1], {"type": "Replace", "pattern": {"Regex": r"\s+"},
                                                                 "content": " "})
        split, byte_level = tok["pre_tokenizer"]["pretokenizers"]
        self.assertEqual(split, {"type": "Split", "pattern": {"Regex": ct.CLIP_SPLIT_PATTERN},
                                 "behavior": "Removed", "invert": True})
        self.assertEqual(byte_level["type"], "ByteLevel")
        self.assertFalse(byte_level["add_prefix_space"])
        model = tok["model"]
        self.assertEqual(model["type"], "BPE")
        self.assertEqual(model["end_of_word_suffix"], "</w>")
        self.assertEqual(model["continuing_subword_prefix"], "")
        self.assertEqual(model["unk_token"], "<|endoftext|>")
        self.assertIsNone(model["dropout"])
        self.assertEqual(model["merges"][:2], ["a t</w>", "c at</w>"])
        self.assertEqual(list(model["vocab"].values()), sorted(model["vocab"].values()))
        bos, eos = _v["<|startoftext|>"], _v["<|endoftext|>"]
        self.assertEqual(tok["post_processor"], {"type": "RobertaProcessing", "sep": ["<|endoftext|>", eos],
                                                 "cls": ["<|startoftext|>", bos], "trim_offsets": False,
                                                 "add_prefix_space": False})
        self.assertEqual([(t["id"], t["content"], t["special"], t["normalized"]) for t in tok["added_tokens"]],
                         [(bos, "<|startoftext|>", True, True), (eos, "<|endoftext|>", True, True)])

    def test_sd2_pad_token_is_special(self):
        specials = ct.special_tokens(SD21_768["tokenizer_config"])
        added = ct.added_tokens(_v, specials)
        self.assertEqual([t["content"] for t in added], ["!", "<|startoftext|>", "<|endoftext|>"])
        self.assertEqual(added[0]["id"], _v["!"])
        self.assertFalse(added[0]["normalized"])

    def test_added_tokens_decoder_wins(self):
        config = {"added_tokens_decoder": {str(_v["<|endoftext|>"]): {
            "content": "<|endoftext|>", "lstrip": False, "normalized": False, "rstrip": False,
            "single_word": False, "special": True}}}
        added = ct.added_tokens(_v, ct.special_tokens(config), config)
        eos = [t for t in added if t["content"] == "<|endoftext|>"][0]
        self.assertFalse(eos["normalized"])

    def test_merges_parsing(self):
        self.assertEqual(ct.parse_merges("#version: 0.2\ni n\nt h\n"), [("i", "n"), ("t", "h")])
        self.assertEqual(ct.parse_merges("i n\r\n"), [("i", "n")])
        with self.assertRaises(ValueError):
            ct.parse_merges("#version: 0.2\nabc\n")

    def test_rejects_merge_outside_vocab(self):
        with self.assertRaises(ValueError):
            ct.clip_tokenizer_json(_v, _m + [("x", "y")], ct.special_tokens({}))

    def test_from_folder(self):
        with tempfile.TemporaryDirectory() as d:
            with open(os.path.join(d, "vocab.json"), "w") as f:
                json.dump(_v, f)
            with open(os.path.join(d, "merges.txt"), "w") as f:
                f.write("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in _m))
            with open(os.path.join(d, "tokenizer_config.json"), "w") as f:
                json.dump(SD21_768["tokenizer_config"], f)
            with open(os.path.join(d, "special_tokens_map.json"), "w") as f:
                json.dump({"pad_token": "!", "bos_token": "<|startoftext|>", "eos_token": "<|endoftext|>",
                           "unk_token": "<|endoftext|>"}, f)
            tok, settings = ct.clip_tokenizer_from_folder(d)
        self.assertEqual(settings, {"padId": _v["!"], "eosId": _v["<|endoftext|>"],
                                    "bosId": _v["<|startoftext|>"], "modelMaxLength": 77})
        self.assertEqual(tok["model"]["merges"], [f"{a} {b}" for a, b in _m])

    def test_compare(self):
        other = copy.deepcopy(TINY_TOKENIZER)
        other["model"]["merges"] = [m.split(" ") for m in other["model"]["merges"]]  # tokenizers >= 0.20
        other["model"]["ignore_merges"] = False
        self.assertEqual(ct.compare_tokenizer_json(TINY_TOKENIZER, other), [])
        other["model"]["end_of_word_suffix"] = ""
        other["added_tokens"] = other["added_tokens"][:1]
        self.assertEqual(ct.compare_tokenizer_json(TINY_TOKENIZER, other), ["added", "model.end_of_word_suffix"])


if __name__ == "__main__":
    unittest.main()
