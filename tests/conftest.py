"""Shared test set-up: never reach the network; tiny random models built from configs."""

from __future__ import annotations

import os

# Before transformers/datasets are imported anywhere: no hub calls, ever.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny models run 5-50x faster on one thread when the CPU is shared (no spin-waiting)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny_bert(num_labels: int = 2, hidden: int = 32, layers: int = 2, **kw):
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    cfg = BertConfig(
        vocab_size=120,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=2 * hidden,
        max_position_embeddings=64,
        num_labels=num_labels,
        **kw,
    )
    return BertForSequenceClassification(cfg).eval()


def tiny_llama(layers: int = 2, hidden: int = 32):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=120,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        tie_word_embeddings=True,
    )
    return LlamaForCausalLM(cfg).eval()


def tiny_gpt2(layers: int = 2, hidden: int = 32):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=120, n_embd=hidden, n_layer=layers, n_head=2, n_positions=64)
    return GPT2LMHeadModel(cfg).eval()


def tiny_opt(layers: int = 2, hidden: int = 32):
    from transformers import OPTConfig, OPTForCausalLM

    torch.manual_seed(0)
    cfg = OPTConfig(
        vocab_size=120,
        hidden_size=hidden,
        num_hidden_layers=layers,
        ffn_dim=2 * hidden,
        num_attention_heads=2,
        max_position_embeddings=64,
        word_embed_proj_dim=hidden,
    )
    return OPTForCausalLM(cfg).eval()


def tiny_mbart(layers: int = 2, hidden: int = 32):
    from transformers import MBartConfig, MBartForConditionalGeneration

    torch.manual_seed(0)
    cfg = MBartConfig(
        vocab_size=120,
        d_model=hidden,
        encoder_layers=layers,
        decoder_layers=layers,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=2 * hidden,
        decoder_ffn_dim=2 * hidden,
        max_position_embeddings=64,
    )
    return MBartForConditionalGeneration(cfg).eval()


def tiny_t5(layers: int = 2, hidden: int = 32):
    from transformers import T5Config, T5ForConditionalGeneration

    torch.manual_seed(0)
    cfg = T5Config(
        vocab_size=120,
        d_model=hidden,
        d_kv=8,
        d_ff=2 * hidden,
        num_layers=layers,
        num_heads=2,
        decoder_start_token_id=0,
    )
    return T5ForConditionalGeneration(cfg).eval()


TINY_MODELS = {
    "bert": tiny_bert,
    "llama": tiny_llama,
    "gpt2": tiny_gpt2,
    "opt": tiny_opt,
    "mbart": tiny_mbart,
    "t5": tiny_t5,
}


def word_tokenizer(words):
    """Whitespace word-level tokenizer over [PAD] [UNK] [BOS] [EOS] and ``words`` (keep it within
    the conftest models' 120-word vocab); appends [EOS] like T5/mBART tokenizers do."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(["[PAD]", "[UNK]", "[BOS]", "[EOS]", *words])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="$A [EOS]", pair="$A [EOS] $B:1 [EOS]:1", special_tokens=[("[EOS]", 3)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=tok,
        pad_token="[PAD]",
        unk_token="[UNK]",
        bos_token="[BOS]",
        eos_token="[EOS]",
    )
