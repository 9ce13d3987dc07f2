/**
 * What a compiled binary embeds besides the runtime it wraps: the binary's
 * size less the runtime's (`DENORT_BIN`, or the `denort` that `deno compile`
 * downloaded into Deno's cache), checked against a limit.
 */

/** The runtime a binary wraps: its size and where that size was read. */
export interface RuntimeSize {
  readonly bytes: number;
  readonly source: string;
}

/** One binary's size split into runtime and embedded program. */
export interface EmbeddedSize {
  readonly name: string;
  readonly binaryBytes: number;
  readonly runtime: RuntimeSize;
  readonly embeddedBytes: number;
  readonly limitBytes: number;
}

/** Splits a binary's size into runtime and embedded program. */
export function embeddedSize(
  name: string,
  binaryBytes: number,
  options: { runtime: RuntimeSize; limitBytes: number },
): EmbeddedSize {
  return {
    name,
    binaryBytes,
    runtime: options.runtime,
    embeddedBytes: binaryBytes - options.runtime.bytes,
    limitBytes: options.limitBytes,
  };
}

/** Whether the embedded part is within the limit. */
export function withinLimit(size: EmbeddedSize): boolean {
  return size.embeddedBytes <= size.limitBytes;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(2)} MB`;

/** One line: `producer embeds 7.86 MB besides the runtime (limit 10.00 MB) ...`. */
export function describeEmbeddedSize(size: EmbeddedSize): string {
  const verdict = withinLimit(size) ? "within" : "ABOVE";
  return `${size.name} embeds ${mb(size.embeddedBytes)} besides the runtime, ${verdict} the ` +
    `limit of ${mb(size.limitBytes)} (binary ${mb(size.binaryBytes)} less runtime ` +
    `${mb(size.runtime.bytes)} from ${size.runtime.source})`;
}

/**
 * The uncompressed size of the entry called `name` (or ending in `/name`) in a
 * zip archive, read from its central directory; undefined when absent.
 */
export function zipEntrySize(bytes: Uint8Array, name: string): number | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // The end-of-central-directory record sits within the last 64 KiB + 22 bytes.
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 65_557); i--) {
    if (view.getUint32(i, true) === 0x06054b50) {
      end = i;
      break;
    }
  }
  if (end < 0) return undefined;
  const entries = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  const decoder = new TextDecoder();
  for (let entry = 0; entry < entries; entry++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== 0x02014b50) return undefined;
    const size = view.getUint32(offset + 24, true);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    const entryName = decoder.decode(bytes.subarray(offset + 46, offset + 46 + nameLength));
    if (entryName === name || entryName.endsWith(`/${name}`)) return size;
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return undefined;
}

/**
 * The size of the runtime `deno compile` wraps programs in: `DENORT_BIN` when
 * set, else the `denort-<target>.zip` of this Deno version in Deno's cache
 * (`denoDir`/dl); undefined when neither is there.
 */
export async function runtimeSize(options: {
  denortBin?: string;
  denoDir: string;
  version: string;
  target: string;
}): Promise<RuntimeSize | undefined> {
  if (options.denortBin) {
    return {
      bytes: (await Deno.stat(options.denortBin)).size,
      source: `DENORT_BIN=${options.denortBin}`,
    };
  }
  const wanted = `denort-${options.target}.zip`;
  for (const path of await filesNamed(`${options.denoDir}/dl`, wanted)) {
    if (!path.includes(`v${options.version}/`)) continue;
    const bytes = zipEntrySize(await Deno.readFile(path), "denort");
    if (bytes !== undefined) return { bytes, source: path };
  }
  return undefined;
}

async function filesNamed(folder: string, name: string): Promise<string[]> {
  const found: string[] = [];
  try {
    for await (const entry of Deno.readDir(folder)) {
      const path = `${folder}/${entry.name}`;
      if (entry.isDirectory) found.push(...await filesNamed(path, name));
      else if (entry.name === name) found.push(path);
    }
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return found;
}
