"""The outcome stage of a night: the classifier set up from settings, and each contact's outcome decided, linked to
repeat contacts, flagged for review when unsure, and stored.

`Classifier.open` is how the classifier is set up everywhere (the nightly flow, `cx-worker classify`): the exemplar
collection filled from the seed file (refreshed when it changed), the fusion model fitted on it (refitted when the
exemplars changed), and the past-contacts collection for repeat links. `embed_contacts` computes everything the
stage needs from the contacts alone, where the contacts are drafted (a thread or a Dask worker): their documents and
issue texts, both embedded in one batched MiniLM pass, their signals and their outcome words. Only what needs the
shared state stays in the flow: the Chroma queries (one kNN query per chunk), the fusion of the neighbours' vote with
what the worker read, repeat links and the store writes (Chroma and the store have one writer: the flow).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from cx_worker.models import Interaction, Outcome
from cx_worker.outcomes.classify import ContactEvidence, classify, read_contact
from cx_worker.outcomes.embeddings import shared_embedding
from cx_worker.outcomes.exemplars import chroma_client, document, ensure_exemplars, open_collection
from cx_worker.outcomes.fusion import MODEL_FILE, FusionModel, ensure_model
from cx_worker.outcomes.repeats import issue_text, link_repeats, open_contacts
from cx_worker.outcomes.words import TextModel
from cx_worker.settings import Settings
from cx_worker.store import Store


@dataclass
class ContactVectors:
    """What the outcome stage reads of a batch of contacts, computed once, in contact order: their documents
    (`exemplars.document`) and the documents' embeddings (the kNN vote), the issue texts (`repeats.issue_text`) and
    their embeddings (repeat links), and each contact's signals and outcome words (`classify.read_contact`)."""

    documents: list[str] = field(default_factory=list)
    vectors: list = field(default_factory=list)
    issue_vectors: list = field(default_factory=list)
    issue_texts: list[str] = field(default_factory=list)
    read: list[ContactEvidence] = field(default_factory=list)

    def part(self, start: int, stop: int) -> ContactVectors:
        """The contacts `start` to `stop` (what is empty stays empty)."""
        return ContactVectors(documents=self.documents[start:stop], vectors=self.vectors[start:stop],
                              issue_vectors=self.issue_vectors[start:stop],
                              issue_texts=self.issue_texts[start:stop], read=self.read[start:stop])


def embed_contacts(interactions: Sequence[Interaction], *, words: TextModel | None = None,
                   embed=None) -> ContactVectors:
    """Everything `Classifier.classify_and_store` needs of a batch that needs no shared state (see `ContactVectors`).

    Both texts of every contact go through MiniLM in one call, sorted by length into token-bounded batches
    (`MiniLMEmbedding`), so short issue texts are batched with each other, not padded to a long document.

    Args:
        interactions: The contacts (redacted, as drafted).
        words: The classifier's outcome-words model (`FusionModel.word_model`); None reads signals only.
        embed: The embedding function (default: the process's shared MiniLM session).
    """
    embed = embed or shared_embedding()
    documents = [document(i) for i in interactions]
    issues = [issue_text(i) for i in interactions]
    vectors = list(embed([*documents, *issues])) if interactions else []
    n = len(documents)
    return ContactVectors(documents=documents, vectors=vectors[:n], issue_vectors=vectors[n:], issue_texts=issues,
                          read=[read_contact(i, words=words, text=d) for i, d in zip(interactions, documents)])


@dataclass
class Classifier:
    """The outcome classifier of a run: exemplars, fusion model, past contacts, and the settings they use."""

    collection: object
    model: FusionModel | None
    contacts: object | None
    k: int = 7
    review_confidence: float = 0.0
    repeat_days: float = 7
    repeat_similarity: float = 0.6

    @classmethod
    def open(cls, settings: Settings, *, repeats: bool = True) -> Classifier:
        """Set the classifier up from settings (see the module docstring); `repeats=False` skips the past-contacts
        collection (classifying a file, not a night)."""
        client = chroma_client(settings)
        collection = open_collection(settings.chroma_path, client=client)
        ensure_exemplars(collection, settings.exemplars)
        model = ensure_model(collection, settings.models_dir / MODEL_FILE, k=settings.knn_k)
        return cls(collection=collection, model=model,
                   contacts=open_contacts(settings.chroma_path, client=client) if repeats else None, k=settings.knn_k,
                   review_confidence=settings.review_confidence, repeat_days=settings.repeat_days,
                   repeat_similarity=settings.repeat_similarity)

    def classify(self, interactions: Sequence[Interaction], *, vectors: ContactVectors | None = None) -> list[Outcome]:
        """Each contact's outcome (no store, no repeat links)."""
        return classify(interactions, collection=self.collection, k=self.k, model=self.model,
                        review_confidence=self.review_confidence,
                        embeddings=vectors.vectors if vectors else None,
                        documents=vectors.documents if vectors else None,
                        read=vectors.read if vectors and vectors.read else None)

    def classify_and_store(
        self, interactions: list[Interaction], *, store: Store, run_id: str, vectors: ContactVectors | None = None
    ) -> Counter:
        """Classify every contact's outcome (no LLM involved), link repeat contacts, flag low confidence, store it.
        Returns the count per label.

        A contact the classifier cannot handle (one failure fails a batch, so the batch is then taken one by one)
        gets an `unresolved` outcome at confidence 0 with the error, on the review list: its note still goes out.
        """
        try:
            found = self.classify(interactions, vectors=vectors)
        except Exception:
            found = [self._one(i, vectors, k) for k, i in enumerate(interactions)]
        if self.contacts is not None:
            try:
                link_repeats(interactions, found, contacts=self.contacts, store=store, run_id=run_id,
                             days=self.repeat_days, min_similarity=self.repeat_similarity,
                             embeddings=vectors.issue_vectors if vectors else None,
                             texts=vectors.issue_texts if vectors and vectors.issue_texts else None)
            except Exception as exc:  # repeat links are an extra; the outcomes stand without them
                for interaction in interactions:
                    store.quarantine(run_id=run_id, interaction_id=interaction.id, origin=interaction.id,
                                     stage="repeats", reason=f"repeat contacts not linked: {type(exc).__name__}: "
                                                             f"{str(exc)[:200]}")
        counts: Counter = Counter()
        for interaction, outcome in zip(interactions, found, strict=True):
            store.put_outcome(interaction.id, run_id=run_id, outcome=outcome.model_dump())
            if outcome.signals.get("needs_review"):
                store.flag_for_review(interaction.id, run_id=run_id, label=outcome.label,
                                      confidence=outcome.confidence,
                                      reason=outcome.signals.get("error") or
                                      f"confidence {outcome.confidence:.2f} below {self.review_confidence:.2f}")
            counts[outcome.label] += 1
        return counts

    def _one(self, interaction: Interaction, vectors: ContactVectors | None, k: int) -> Outcome:
        one = vectors.part(k, k + 1) if vectors else None
        try:
            return self.classify([interaction], vectors=one)[0]
        except Exception as exc:
            error = f"the classifier failed on this contact: {type(exc).__name__}: {str(exc)[:200]}"
            return Outcome(label="unresolved", confidence=0.0, signals={"error": error, "needs_review": True})
