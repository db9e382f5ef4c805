"""gradio_client users of `kgreason serve`: the named `ask` endpoint answers with proofs and follow-ups."""
from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def client(serve_url: str):  # type: ignore[no-untyped-def]
    from gradio_client import Client

    return Client(serve_url, verbose=False)


def test_two_hop_question_over_the_api(client) -> None:  # type: ignore[no-untyped-def]
    result = client.predict("the director of Kismet is also the director of which movies", "", api_name="/ask")
    assert result["found"] is True
    labels = {a["label"] for a in result["answers"]}
    assert {"The Hunchback of Notre Dame", "Portrait of Jennie"} <= labels
    assert "Kismet" not in labels
    proof = next(a for a in result["answers"] if a["label"] == "Portrait of Jennie")["proofs"][0]
    assert len(proof) == 2  # Kismet -directed by-> Dieterle, Portrait of Jennie -directed by-> Dieterle
    assert proof[0][0] == "Kismet" and proof[0][2] == "William Dieterle"
    assert [step["agent"] for step in result["trace"]]


def test_graph_summary_endpoint(client) -> None:  # type: ignore[no-untyped-def]
    summary, relations, _ = client.predict(api_name="/graph_summary")
    assert "triples" in summary
    names = [row[0] for row in relations["data"]]
    assert "directed by" in names


def test_not_found_says_why(client) -> None:  # type: ignore[no-untyped-def]
    result = client.predict("who directed Qwxyzzt Plorbnax", "", api_name="/ask")
    assert result["found"] is False and result["answers"] == []
    assert result["reply"].strip()


def test_follow_up_uses_the_conversation(client) -> None:  # type: ignore[no-untyped-def]
    first = client.predict("who directed Kismet", "", api_name="/ask")
    assert [a["label"] for a in first["answers"]] == ["William Dieterle"]
    conversation = first["conversation"]  # issued by the server
    assert len(conversation) >= 16
    second = client.predict("what language is it in", conversation, api_name="/ask")
    assert "English" in {a["label"] for a in second["answers"]}
    assert second["conversation"] == conversation


def test_client_chosen_conversation_ids_are_refused(client) -> None:  # type: ignore[no-untyped-def]
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="unknown or expired conversation"):
        client.predict("who directed Kismet", "conv-42", api_name="/ask")
