/** The benchmarks' topics on a shared broker: kept on request, else deleted at the end of a run. */
import type { Kafka } from "kafkajs";
import { parsers, setting } from "@activity/shared";

/** `--keep-topics`: keep the run's topics instead of deleting them at the end. */
export const keepTopicsSetting = setting({
  flag: "keep-topics",
  fallback: "false",
  help: "Keep the benchmark's topics (by default they are deleted at the end).",
  allowed: "true or false",
  schema: parsers.oneOf(["true", "false"]).transform((value) => value === "true"),
});

/** Deletes the broker's topics that `wanted` picks; says what it deleted or could not delete. */
export async function deleteTopics(
  kafka: Kafka,
  wanted: (topic: string) => boolean,
  log: (message: string) => void,
): Promise<void> {
  const admin = kafka.admin();
  let topics: string[] = [];
  try {
    await admin.connect();
    topics = (await admin.listTopics()).filter(wanted);
    if (topics.length === 0) return;
    await admin.deleteTopics({ topics });
    log(`deleted ${topics.length} topics`);
  } catch (error) {
    log(`could not delete the benchmark's topics (${String(error)}): ${topics.join(", ")}`);
  } finally {
    await admin.disconnect();
  }
}
