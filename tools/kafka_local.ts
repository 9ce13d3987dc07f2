/**
 * A real Apache Kafka broker (KRaft; a single node, or one node of a local
 * cluster: see `kafka_cluster.ts`) run from Maven Central jars, without Docker. Jars, data and logs live in a cache folder outside the
 * repository (`ACTIVITY_CACHE_DIR`, default `~/.cache/activity-pipeline`).
 */

import { type KafkaNodeAddress, kafkaNodeProperties } from "./kafka_properties.ts";

/** The Kafka version used everywhere (compose, tests, CI). */
export const KAFKA_VERSION = "3.9.1";

/** Where a local broker keeps its files and listens. */
export interface LocalKafkaOptions {
  readonly cacheDir: string;
  readonly port: number;
  readonly controllerPort: number;
  /** When it is one node of a cluster: its id, every node, and the cluster's id. */
  readonly cluster?: LocalClusterMembership;
  /** Extra or overriding server properties (tests shorten failure detection). */
  readonly properties?: Readonly<Record<string, string>>;
  /** JVM heap flags; default `KAFKA_HEAP_OPTS`, else 512 MB. */
  readonly heap?: string;
}

/** A node's place in a local multi-node cluster. */
export interface LocalClusterMembership {
  readonly nodeId: number;
  readonly quorum: readonly KafkaNodeAddress[];
  /** The id every node's storage is formatted with (Kafka's base64 UUID form). */
  readonly clusterId: string;
}

/** The default options: port 9092 and the user's cache folder. */
export function defaultKafkaOptions(): LocalKafkaOptions {
  const home = Deno.env.get("HOME") ?? "/tmp";
  const cacheDir = Deno.env.get("ACTIVITY_CACHE_DIR") ??
    `${Deno.env.get("XDG_CACHE_HOME") ?? `${home}/.cache`}/activity-pipeline`;
  return { cacheDir, port: 9092, controllerPort: 9093 };
}

/** Failed to fetch, format or start the local broker. */
export class LocalKafkaError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "LocalKafkaError";
  }
}

const POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.activity</groupId><artifactId>kafka-local</artifactId><version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency><groupId>org.apache.kafka</groupId><artifactId>kafka_2.13</artifactId><version>${KAFKA_VERSION}</version></dependency>
    <dependency><groupId>org.slf4j</groupId><artifactId>slf4j-reload4j</artifactId><version>1.7.36</version></dependency>
    <dependency><groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version></dependency>
  </dependencies>
</project>
`;

const LOG4J = `log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.request.logger=WARN
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.controller=WARN
log4j.logger.org.apache.kafka.controller=WARN
`;

function paths(options: LocalKafkaOptions) {
  const root = `${options.cacheDir}/kafka-${KAFKA_VERSION}`;
  return {
    root,
    libs: `${root}/libs`,
    data: `${options.cacheDir}/kafka-data-${options.port}`,
    config: `${options.cacheDir}/kafka-${options.port}.properties`,
    log4j: `${root}/log4j.properties`,
    logFile: `${options.cacheDir}/kafka-${options.port}.log`,
    pidFile: `${options.cacheDir}/kafka-${options.port}.pid`,
  };
}

/** Downloads the broker's jars with Maven unless they are already cached. */
export async function ensureKafkaJars(options: LocalKafkaOptions): Promise<string> {
  const p = paths(options);
  if (await exists(`${p.libs}/.complete`)) return p.libs;
  await Deno.mkdir(p.root, { recursive: true });
  await Deno.writeTextFile(`${p.root}/pom.xml`, POM);
  const staging = `${p.root}/libs.partial`;
  await Deno.remove(staging, { recursive: true }).catch(() => {});
  const result = await new Deno.Command("mvn", {
    args: [
      "-B",
      "-q",
      "-f",
      `${p.root}/pom.xml`,
      "org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies",
      "-DincludeScope=runtime",
      `-DoutputDirectory=${staging}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output().catch((error) => {
    throw new LocalKafkaError(`Cannot fetch Kafka jars: Maven could not be run (${error.message})`);
  });
  if (!result.success) {
    const output = new TextDecoder().decode(result.stdout) +
      new TextDecoder().decode(result.stderr);
    throw new LocalKafkaError(`Cannot fetch Kafka jars with Maven:\n${output.slice(-2000)}`);
  }
  await Deno.writeTextFile(`${staging}/.complete`, new Date().toISOString());
  await Deno.remove(p.libs, { recursive: true }).catch(() => {});
  await Deno.rename(staging, p.libs);
  return p.libs;
}

/** The pid of the broker started from this cache on this port, if it is alive. */
export async function runningKafkaPid(options: LocalKafkaOptions): Promise<number | undefined> {
  const text = await Deno.readTextFile(paths(options).pidFile).catch(() => "");
  const pid = Number(text.trim());
  if (!Number.isInteger(pid) || pid <= 0) return undefined;
  return await exists(`/proc/${pid}`) ? pid : undefined;
}

/** Whether something accepts TCP connections on 127.0.0.1:`port`. */
export async function portOpen(port: number): Promise<boolean> {
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.close();
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the broker in the background (it outlives this process) and waits
 * until it logs that it started. Returns the bootstrap address.
 */
export async function startLocalKafka(
  options: LocalKafkaOptions,
  settings: { fresh?: boolean; timeoutMs?: number } = {},
): Promise<string> {
  await launchLocalKafka(options, settings);
  return await waitForLocalKafka(options, settings);
}

/**
 * Formats the node's storage if it is new and starts its JVM in the
 * background, without waiting: a node of a cluster cannot finish starting
 * before a majority of the controllers runs. Does nothing if it is running.
 */
export async function launchLocalKafka(
  options: LocalKafkaOptions,
  settings: { fresh?: boolean } = {},
): Promise<void> {
  const p = paths(options);
  if (await runningKafkaPid(options)) return;
  if (await portOpen(options.port)) {
    throw new LocalKafkaError(
      `Cannot start Kafka: port ${options.port} is already in use by another process`,
    );
  }
  const libs = await ensureKafkaJars(options);
  if (settings.fresh) await Deno.remove(p.data, { recursive: true }).catch(() => {});
  await Deno.mkdir(p.data, { recursive: true });
  const self = { nodeId: 1, port: options.port, controllerPort: options.controllerPort };
  await Deno.writeTextFile(
    p.config,
    kafkaNodeProperties({
      ...self,
      ...(options.cluster ? { nodeId: options.cluster.nodeId } : {}),
      quorum: options.cluster?.quorum ?? [self],
      dataDir: p.data,
      overrides: options.properties,
    }),
  );
  await Deno.writeTextFile(p.log4j, LOG4J);
  const java = ["java", "-cp", `${libs}/*`, `-Dlog4j.configuration=file:${p.log4j}`];
  if (!await exists(`${p.data}/meta.properties`)) {
    const format = await new Deno.Command(java[0], {
      args: [
        ...java.slice(1),
        "kafka.tools.StorageTool",
        "format",
        // One argument with "=": a base64url id may begin with "-", which a separate one cannot.
        `--cluster-id=${options.cluster?.clusterId ?? newClusterId()}`,
        "-c",
        p.config,
        "--ignore-formatted",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!format.success) {
      throw new LocalKafkaError(
        `Cannot format Kafka storage: ${new TextDecoder().decode(format.stderr).slice(-1000)}`,
      );
    }
  }
  const heap = options.heap ?? Deno.env.get("KAFKA_HEAP_OPTS") ?? "-Xms512m -Xmx512m";
  const command = [
    ...java.slice(0, 1),
    ...heap.split(/\s+/),
    "-XX:+UseG1GC",
    ...java.slice(1),
    "kafka.Kafka",
    p.config,
  ].map(shellQuote).join(" ");
  const launched = await new Deno.Command("sh", {
    args: ["-c", `nohup setsid ${command} > ${shellQuote(p.logFile)} 2>&1 < /dev/null & echo $!`],
    stdout: "piped",
  }).output();
  const pid = Number(new TextDecoder().decode(launched.stdout).trim());
  await Deno.writeTextFile(p.pidFile, `${pid}\n`);
}

/** Waits until the launched broker logs that it started and takes connections. */
export async function waitForLocalKafka(
  options: LocalKafkaOptions,
  settings: { timeoutMs?: number } = {},
): Promise<string> {
  const p = paths(options);
  const address = `127.0.0.1:${options.port}`;
  const deadline = Date.now() + (settings.timeoutMs ?? 90_000);
  while (Date.now() < deadline) {
    const log = await Deno.readTextFile(p.logFile).catch(() => "");
    if (log.includes("Kafka Server started") && await portOpen(options.port)) return address;
    if (!await runningKafkaPid(options)) {
      throw new LocalKafkaError(`Kafka exited while starting; its log ends:\n${log.slice(-3000)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new LocalKafkaError(`Kafka did not start within the timeout; see ${p.logFile}`);
}

/** A new cluster id in the form `StorageTool random-uuid` prints (22 characters). */
export function newClusterId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The cluster id the node's storage was formatted with, if it was. */
export async function formattedClusterId(options: LocalKafkaOptions): Promise<string | undefined> {
  const meta = await Deno.readTextFile(`${paths(options).data}/meta.properties`).catch(() => "");
  return /^cluster\.id=(.+)$/m.exec(meta)?.[1]?.trim();
}

/** Stops the broker started from this cache on this port (SIGTERM, then SIGKILL). */
export async function stopLocalKafka(
  options: LocalKafkaOptions,
  settings: { signal?: "SIGTERM" | "SIGKILL"; timeoutMs?: number } = {},
): Promise<boolean> {
  const pid = await runningKafkaPid(options);
  if (!pid) return false;
  Deno.kill(pid, settings.signal ?? "SIGTERM");
  const deadline = Date.now() + (settings.timeoutMs ?? 30_000);
  while (await exists(`/proc/${pid}`) && !(await isZombie(pid))) {
    if (Date.now() > deadline) {
      Deno.kill(pid, "SIGKILL");
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await Deno.remove(paths(options).pidFile).catch(() => {});
  return true;
}

/** The path of the broker's data directory. */
export function kafkaDataDir(options: LocalKafkaOptions): string {
  return paths(options).data;
}

/** The path of the broker's log file. */
export function kafkaLogFile(options: LocalKafkaOptions): string {
  return paths(options).logFile;
}

async function isZombie(pid: number): Promise<boolean> {
  const stat = await Deno.readTextFile(`/proc/${pid}/stat`).catch(() => "");
  return stat === "" || / [ZX] /.test(stat.slice(stat.lastIndexOf(")")));
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

function shellQuote(text: string): string {
  return /^[A-Za-z0-9_.\/:=+-]+$/.test(text) ? text : `'${text.replaceAll("'", `'\\''`)}'`;
}
