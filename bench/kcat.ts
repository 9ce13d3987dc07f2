/**
 * The physical read limit of a topic on this box: `kcat` (librdkafka, C)
 * reading it raw from the beginning to the end.
 */

/** How fast kcat read a topic. */
export interface RawReadResult {
  readonly messages: number;
  readonly seconds: number;
  readonly eventsPerSecond: number;
}

/** Reads every partition of `topic` to its end with kcat and times it. */
export async function measureRawRead(
  brokers: readonly string[],
  topic: string,
): Promise<RawReadResult> {
  const started = performance.now();
  // One byte of output per message keeps kcat's own formatting out of the measurement.
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("kcat", {
      args: ["-C", "-b", brokers.join(","), "-t", topic, "-o", "beginning", "-e", "-q", "-f", "."],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new Error("Cannot read the topic raw: kcat is not installed (apt-get install -y kcat)");
  }
  let messages = 0;
  for await (const chunk of child.stdout) messages += chunk.length;
  const status = await child.status;
  const stderr = new TextDecoder().decode(
    (await new Response(child.stderr).arrayBuffer().catch(() => new ArrayBuffer(0))) as ArrayBuffer,
  );
  if (!status.success) throw new Error(`kcat failed (${status.code}): ${stderr.slice(-500)}`);
  const seconds = (performance.now() - started) / 1000;
  return { messages, seconds, eventsPerSecond: messages / seconds };
}
