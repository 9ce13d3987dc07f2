/**
 * Publishing as a client other than ours would: `kcat` (librdkafka, the C
 * client under Python's confluent-kafka) when it is installed, else a bare
 * KafkaJS producer; either way without a key, so the client picks each
 * message's partition, and with the values exactly as given.
 */
import { createKafka, toKafkaBuffer } from "@activity/shared/kafka";

/** The client that published. */
export type ForeignClient = "kcat" | "kafkajs";

/** Publishes each value (one line of text each) to `topic` without a key. */
export async function publishForeign(
  brokers: readonly string[],
  topic: string,
  values: readonly string[],
): Promise<ForeignClient> {
  if (values.some((value) => value.includes("\n"))) {
    throw new Error("publishForeign sends one message per line: values must not hold newlines");
  }
  if (await kcatInstalled()) {
    await publishWithKcat(brokers, topic, values);
    return "kcat";
  }
  const producer = createKafka({ brokers: [...brokers], clientId: "foreign-client" }).producer();
  await producer.connect();
  try {
    const encoder = new TextEncoder();
    await producer.send({
      topic,
      acks: -1,
      messages: values.map((value) => ({ value: toKafkaBuffer(encoder.encode(value)) })),
    });
  } finally {
    await producer.disconnect();
  }
  return "kafkajs";
}

async function kcatInstalled(): Promise<boolean> {
  try {
    return (await new Deno.Command("kcat", { args: ["-V"], stdout: "null", stderr: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

async function publishWithKcat(
  brokers: readonly string[],
  topic: string,
  values: readonly string[],
): Promise<void> {
  const child = new Deno.Command("kcat", {
    args: ["-P", "-b", brokers.join(","), "-t", topic, "-X", "acks=all"],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(values.map((value) => `${value}\n`).join("")));
  await writer.close();
  const { success, stderr } = await child.output();
  const errors = new TextDecoder().decode(stderr);
  // kcat reports failed deliveries on stderr, not always in its exit status.
  if (!success || /ERROR|fail/i.test(errors)) {
    throw new Error(`kcat failed: ${errors.slice(-1_000)}`);
  }
}
