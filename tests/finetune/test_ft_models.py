"""Training (tiny BERT): loss goes down, save/load round-trip, model card, determinism, CLI exit codes."""
from __future__ import annotations

import json

import pytest

from finetune.train import TrainingArguments

CONLL = ("-DOCSTART- O\n\n" + "eu B-ORG\nrejects O\ngerman B-MISC\ncall O\n.\tO\n\n"
         "peter B-PER\nblackburn I-PER\nlives O\nin O\nlondon B-LOC\n\n"
         "john B-PER\nsmith I-PER\nworks O\nfor O\nacme B-ORG\ncorp I-ORG\n\n") * 6
QS = "".join(f"what movies did [{n}] act in\tX\nwho directed [{m}]\tY\n"
             for n, m in [("John Smith", "Paris"), ("Peter Blackburn", "London"), ("Acme", "Berlin")] * 4)
QT = "actor_to_movie\nmovie_to_director\n" * 12


def args(**kw):
    return TrainingArguments(**({"epochs": 3, "lr": 5e-3, "batch_size": 4, "context": 8, "max_length": 64,
                                 "progress": False, "device": "cpu", "patience": 0} | kw))


@pytest.fixture
def conll(tmp_path):
    p = tmp_path / "train.txt"
    p.write_text(CONLL.replace(".\tO", ". O"), encoding="utf-8")
    return p


def test_ft_ner_trains_saves_and_reloads(tiny_bert, conll, tmp_path):
    from finetune.ner import NerTagger, NerTrainer

    seen = []
    run = NerTrainer(args(), str(tiny_bert)).run(conll, conll, tmp_path / "m", on_epoch_end=seen.append)
    assert run.result.last_loss < run.result.first_loss
    assert [m["epoch"] for m in seen] == [1, 2, 3]
    folder = tmp_path / "m"
    assert {"adapter.safetensors", "heads.safetensors", "labels.json", "model_card.json"} <= {p.name for p in folder.iterdir()}
    assert not list(folder.glob("model.safetensors"))  # the base is not copied
    card = json.loads((folder / "model_card.json").read_text())
    assert card["base"] == str(tiny_bert) and card["adapter"] == "lora"
    assert len(card["data"]["train"]["sha256"]) == 64 and len(card["dev_metrics"]) == 3
    assert card["hyperparameters"]["lora_r"] == 32 and "command" in card and card["seconds"] > 0
    texts = ["peter blackburn lives in london. john smith works for acme corp."]
    words = [[s.tokens for s in read_docs(conll)]]
    a, b = NerTagger(folder), NerTagger(folder)
    assert a.tag_words(words) == b.tag_words(words)
    spans = a.run(texts)[0]
    assert all(texts[0][s.start:s.end] == s.text for s in spans)


def read_docs(path):
    from finetune.data import read_conll

    return read_conll(path).sentences[:3]


def test_ft_seeded_runs_are_identical(tiny_bert, conll, tmp_path):
    from finetune.ner import NerTrainer

    r1 = NerTrainer(args(epochs=1), str(tiny_bert)).run(conll, conll, tmp_path / "a")
    r2 = NerTrainer(args(epochs=1), str(tiny_bert)).run(conll, conll, tmp_path / "b")
    assert r1.result.last_loss == r2.result.last_loss
    assert (tmp_path / "a" / "heads.safetensors").read_bytes() == (tmp_path / "b" / "heads.safetensors").read_bytes()


def test_ft_question_model_round_trip(tiny_bert, tmp_path):
    from finetune.evaluate import evaluate_questions
    from finetune.questions import QuestionParser, QuestionTrainer

    (tmp_path / "q.txt").write_text(QS), (tmp_path / "q_qtype.txt").write_text(QT)
    run = QuestionTrainer(args(epochs=4), str(tiny_bert)).run(
        tmp_path / "q.txt", None, tmp_path / "q.txt", None, tmp_path / "qm")
    assert run.result.last_loss < run.result.first_loss
    parsed = QuestionParser(tmp_path / "qm").run(["who directed Paris", "what movies did John Smith act in"])
    # two path classes only, so both are always listed: what the model learnt is which one comes first
    assert [p.paths[0][0] for p in parsed] == ["movie_to_director", "actor_to_movie"]
    assert abs(sum(s for _, s in parsed[0].paths) - 1.0) < 1e-3
    assert (parsed[0].mention, parsed[0].start, parsed[0].end) == ("Paris", 13, 18)
    scores = evaluate_questions(tmp_path / "qm", tmp_path / "q.txt")
    assert scores["n"] == 24 and scores["path_accuracy"] == 1.0 and scores["entity_exact"] > 0.5


def test_ft_missing_shipped_model_is_clear():
    from finetune.errors import ModelError
    from finetune.ner import NerTagger

    with pytest.raises(ModelError, match="no NER model"):
        NerTagger("/nonexistent/ner").run(["x"])


def test_ft_cli_bad_data_exits_2(tmp_path):
    from typer.testing import CliRunner

    from ui.cli import app

    bad = tmp_path / "bad.txt"
    bad.write_text("EU B-ORG\nrejects\n")
    res = CliRunner().invoke(app, ["finetune", "ner", "--train", str(bad), "--dev", str(bad), "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "bad.txt:2" in (res.output + str(getattr(res, "stderr", "")))
    res = CliRunner().invoke(app, ["finetune", "ner", "--train", str(bad), "--dev", str(bad), "--out",
                                   str(tmp_path / "o"), "--pack", "-5"])
    assert res.exit_code == 2 and "--pack" in (res.output + str(getattr(res, "stderr", "")))
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_ft_real_base_learns_conll(shared_data, tmp_path):
    from finetune.evaluate import evaluate_ner
    from finetune.ner import NerTrainer

    c = shared_data / "conll2003"
    # 1,000 sentences, 3 epochs: about 1.5 min on 2 cores; it reached F1 0.78 on the valid slice when written.
    NerTrainer(args(epochs=3, lr=1e-3, batch_size=16, context=0, max_length=128)).run(
        c / "train.txt", c / "valid.txt", tmp_path / "m", limit=1000, dev_limit=200)
    assert evaluate_ner(tmp_path / "m", c / "valid.txt", limit=200)["f1"] > 0.6


@pytest.mark.slow
def test_ft_real_base_learns_questions(shared_data, tmp_path):
    from finetune.questions import QuestionTrainer

    q = shared_data / "metaqa" / "1-hop"
    run = QuestionTrainer(args(epochs=2, lr=5e-4, batch_size=32, max_length=48)).run(
        q / "qa_dev.txt", q / "qa_dev_qtype.txt", q / "qa_dev.txt", q / "qa_dev_qtype.txt", tmp_path / "m",
        limit=600, dev_limit=200)
    assert run.result.best["entity_exact"] > 0.7


def test_ft_word_shape_off_keeps_the_casing_embedding_zero(tiny_bert, conll, tmp_path):
    from safetensors.torch import load_file

    from finetune.ner import NerTrainer

    for on in (True, False):
        a = args()
        a.word_shape = on
        NerTrainer(a, str(tiny_bert)).run(conll, conll, tmp_path / str(on))
        shape = load_file(tmp_path / str(on) / "heads.safetensors")["shape.weight"]
        assert bool(shape.abs().sum() > 0) is on
        card = json.loads((tmp_path / str(on) / "model_card.json").read_text())
        assert card["hyperparameters"]["word_shape"] is on


def test_ft_crf_ner_trains_saves_and_decodes_valid_sequences(tiny_bert, conll, tmp_path):
    from safetensors.torch import load_file

    from finetune.ner import NerTagger, NerTrainer

    a = args(epochs=6)
    a.crf = True
    run = NerTrainer(a, str(tiny_bert)).run(conll, conll, tmp_path / "crf")
    assert run.result.last_loss < run.result.first_loss
    heads = load_file(tmp_path / "crf" / "heads.safetensors")
    assert {"crf.transitions", "crf.start_transitions", "crf.end_transitions"} <= set(heads)
    tagger = NerTagger(tmp_path / "crf", device="cpu")
    assert tagger._load()[0].crf is not None  # reloaded with its CRF
    words = [[s.tokens for s in read_docs(conll)]]
    tagged = tagger.tag_words(words)
    assert [[len(s) for s in d] for d in tagged] == [[len(s) for s in d] for d in words]
    assert tagger.tag_words(words) == tagged
    packed = NerTagger(tmp_path / "crf", device="cpu", profile="fast").tag_words(words)
    assert [[len(s) for s in d] for d in packed] == [[len(s) for s in d] for d in words]


def test_ft_crf_decode_matches_viterbi_on_word_positions():
    import torch

    from finetune.modeling import TaggerModel

    class Body(torch.nn.Module):
        hidden_size = 4

        def __init__(self):
            super().__init__()
            self.shape = torch.nn.Embedding(8, 4)

    model = TaggerModel(Body(), 3, crf=True)
    torch.manual_seed(0)
    logits = torch.randn(2, 6, 3)
    words = torch.tensor([[0, 1, 0, 1, 1, 0], [0, 0, 0, 0, 0, 0]], dtype=torch.bool)
    _, tags = model.decode(logits, words)
    best = model.crf.decode(logits[0, [1, 3, 4]][None])[0]
    assert tags[0, [1, 3, 4]].tolist() == best
    assert tags[0, [0, 2, 5]].tolist() == logits[0, [0, 2, 5]].argmax(-1).tolist()  # non-word tokens: arg-max
    assert tags[1].tolist() == logits[1].argmax(-1).tolist()  # a row without words is left as it is


def test_ft_ner_trained_on_packed_windows_tags_as_trained(tiny_bert, conll, tmp_path):
    from finetune.ner import NerTagger, NerTrainer

    NerTrainer(args(pack=40, context=4), str(tiny_bert)).run(conll, conll, tmp_path / "packed")
    card = json.loads((tmp_path / "packed" / "model_card.json").read_text())
    assert card["hyperparameters"]["pack"] == 40
    words = [[s.tokens for s in read_docs(conll)]]
    as_trained = NerTagger(tmp_path / "packed", device="cpu").tag_words(words)
    assert as_trained == NerTagger(tmp_path / "packed", device="cpu", pack=40, context=4).tag_words(words)
    assert [[len(s) for s in d] for d in as_trained] == [[len(s) for s in d] for d in words]
