import assert from "node:assert/strict";
import { decidePlacement } from "./partition_placement.ts";

const ID = "6a4f0c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b";
const OTHER = "0b1c2d3e-4f5a-4b7c-8d9e-0f1a2b3c4d5e";
const log = (logStart: bigint, highWatermark: bigint) => ({ logStart, highWatermark });

Deno.test("a partition with a stored offset inside its log is read on from there", () => {
  assert.deepEqual(decidePlacement({ next: 40n, topicId: ID }, log(0n, 100n), ID), {
    kind: "stored",
    placement: { committed: 40n, position: 40n, highWatermark: 100n },
  });
  // Offsets stored before topic ids were kept adopt the current topic.
  assert.equal(decidePlacement({ next: 40n, topicId: null }, log(0n, 100n), ID).kind, "stored");
  assert.equal(decidePlacement({ next: 100n, topicId: ID }, log(0n, 100n), ID).kind, "stored");
});

Deno.test("a partition never read starts at its first retained message", () => {
  assert.deepEqual(decidePlacement(undefined, log(25n, 90n), ID), {
    kind: "new",
    placement: { committed: null, position: 25n, highWatermark: 90n },
  });
});

Deno.test("messages retention removed before they were read are a gap, not a silent skip", () => {
  assert.deepEqual(decidePlacement({ next: 10n, topicId: ID }, log(60n, 90n), ID), {
    kind: "gap",
    placement: {
      committed: 10n,
      position: 60n,
      highWatermark: 90n,
      gap: { from: "10", to: "60" },
    },
    lost: 50n,
  });
});

Deno.test("a recreated topic is read from its start, whatever the stored offset says", () => {
  for (const stored of [5n, 5_000n]) {
    assert.deepEqual(decidePlacement({ next: stored, topicId: OTHER }, log(0n, 300n), ID), {
      kind: "recreated",
      placement: { committed: stored, position: 0n, highWatermark: 300n },
      storedTopicId: OTHER,
    });
  }
});

Deno.test("a stored offset past the end of the same topic's log stops the consumer", () => {
  assert.deepEqual(decidePlacement({ next: 500n, topicId: ID }, log(0n, 300n), ID), {
    kind: "truncated",
    storedOffset: 500n,
    highWatermark: 300n,
  });
  // Without topic ids (an old broker) a past-the-end offset is still truncation, never a skip.
  assert.equal(
    decidePlacement({ next: 500n, topicId: null }, log(0n, 300n), null).kind,
    "truncated",
  );
});
