"""The event stream (ARCHITECTURE.md, contract 2): topics, payload schema, and a validator for subscribers' tests.

Every message is a ZeroMQ multipart ``[topic, payload]``; the payload is UTF-8 JSON with these common fields:
    schema    "zsar.event/1"  (the major version changes only on breaking changes)
    type      "prediction" | "action.start" | "action.end" | "heartbeat" | "status"
    seq       publisher-wide sequence number, +1 per message (a gap means a dropped message)
    ts        wall-clock time, Unix seconds;  mono: monotonic seconds (same clock as time.monotonic())
    source    the source id (--source-id, default the source's name)

Topics and their own fields:
    zsar.prediction    person, frame_ts (mono time of the frame that completed the window), window_s,
                       top_k [{label, score, prob}], label (best, or null when unknown), unknown (bool)
    zsar.action.start  person, label, score, start_ts (mono), start_wall
    zsar.action.end    person, label, start_ts, end_ts (mono), duration_s, mean_score, peak_score,
                       reason ("ended" | "replaced" | "person_lost" | "vocabulary_changed" | "shutdown")
    zsar.heartbeat     every second: uptime_s, fps_in, windows_per_s, dropped_frames, people, backend,
                       latency_ms {preprocess, encoder, scoring, decisions, publish, adaptation} (median over the
                       last second), vocab_size, vocab_id, tracking ("single-person" | "multi-person"),
                       last_status {event, message, seq, ts} (the latest status event, for late subscribers)
    zsar.status        event ("started" | "vocabulary_loaded" | "vocabulary_error" | "source_ended" |
                       "source_error" | "recognition_error" | "stopping"), message, and event-specific fields
The first event waits a start-up grace (0.5 s after binding) so that subscribers already waiting receive
"started"; a subscriber that connects later learns the latest status from a heartbeat's last_status.
Scores are weighted cosine similarities in [-1, 1], or for a bundle whose manifest says ``scoring.score: logit``
its conditioned model's logits divided by the logit scale; probs are softmax over the vocabulary at the bundle's
logit scale.
"""

from __future__ import annotations

SCHEMA = "zsar.event/1"
TOPICS = {
    "prediction": "zsar.prediction",
    "action.start": "zsar.action.start",
    "action.end": "zsar.action.end",
    "heartbeat": "zsar.heartbeat",
    "status": "zsar.status",
}
COMMON = {"schema": str, "type": str, "seq": int, "ts": float, "mono": float, "source": str}
FIELDS: dict[str, dict[str, type | tuple]] = {
    "prediction": {"person": int, "frame_ts": float, "window_s": float, "top_k": list, "label": (str, type(None)),
                   "unknown": bool},
    "action.start": {"person": int, "label": str, "score": float, "start_ts": float, "start_wall": float},
    "action.end": {"person": int, "label": str, "start_ts": float, "end_ts": float, "duration_s": float,
                   "mean_score": float, "peak_score": float, "reason": str},
    "heartbeat": {"uptime_s": float, "fps_in": float, "windows_per_s": float, "dropped_frames": int, "people": int,
                  "backend": str, "latency_ms": dict, "vocab_size": int, "vocab_id": str, "tracking": str},
    "status": {"event": str, "message": str},
}
END_REASONS = ("ended", "replaced", "person_lost", "vocabulary_changed", "shutdown")
STATUS_EVENTS = ("started", "vocabulary_loaded", "vocabulary_error", "source_ended", "source_error",
                 "recognition_error", "stopping")


def validate(topic: str, payload: dict) -> None:
    """Raise ValueError if a message does not follow the schema."""
    kind = payload.get("type")
    if kind not in FIELDS:
        raise ValueError(f"unknown type {kind!r}")
    if TOPICS[kind] != topic:
        raise ValueError(f"type {kind!r} on topic {topic!r}, expected {TOPICS[kind]!r}")
    for key, typ in {**COMMON, **FIELDS[kind]}.items():
        if key not in payload:
            raise ValueError(f"{kind}: missing {key!r}")
        value = payload[key]
        ok = isinstance(value, typ) and not (typ is float and isinstance(value, bool))
        if typ is float and isinstance(value, int) and not isinstance(value, bool):
            ok = True
        if not ok:
            raise ValueError(f"{kind}: {key!r} is {type(value).__name__}, expected {typ}")
    if payload["schema"] != SCHEMA:
        raise ValueError(f"schema {payload['schema']!r} != {SCHEMA!r}")
    if kind == "prediction":
        for item in payload["top_k"]:
            if set(item) != {"label", "score", "prob"}:
                raise ValueError(f"prediction top_k entries need label, score, prob: {item}")
    if kind == "heartbeat" and "last_status" in payload:
        last = payload["last_status"]
        if not isinstance(last, dict) or not {"event", "message", "seq", "ts"} <= set(last):
            raise ValueError(f"heartbeat: last_status needs event, message, seq, ts: {last}")
    if kind == "action.end" and payload["reason"] not in END_REASONS:
        raise ValueError(f"action.end reason {payload['reason']!r} not in {END_REASONS}")
