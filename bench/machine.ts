/** Facts about the machine and versions a benchmark ran with. */

/** What the benchmark ran on. */
export interface MachineFacts {
  readonly date: string;
  readonly cores: number;
  readonly cpu: string;
  readonly memoryGiB: number;
  readonly os: string;
  readonly deno: string;
  readonly v8: string;
  readonly typescript: string;
  readonly kafka: string;
  readonly postgres: string;
  readonly kcat: string;
}

/** Reads the machine facts; `postgresVersion` comes from the database itself. */
export async function readMachineFacts(
  options: { postgresVersion: string; kafkaVersion: string },
): Promise<MachineFacts> {
  const cpuinfo = await Deno.readTextFile("/proc/cpuinfo").catch(() => "");
  const meminfo = await Deno.readTextFile("/proc/meminfo").catch(() => "");
  const memKb = Number(/MemTotal:\s+(\d+)/.exec(meminfo)?.[1] ?? 0);
  return {
    date: new Date().toISOString(),
    cores: navigator.hardwareConcurrency,
    cpu: /model name\s*:\s*(.+)/.exec(cpuinfo)?.[1]?.trim() ?? "unknown",
    memoryGiB: Math.round(memKb / 1024 / 1024),
    os: `${Deno.build.os} ${Deno.osRelease()} ${Deno.build.arch}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    typescript: Deno.version.typescript,
    kafka: options.kafkaVersion,
    postgres: options.postgresVersion,
    kcat: await commandFirstLine("kcat", ["-V"]),
  };
}

async function commandFirstLine(command: string, args: string[]): Promise<string> {
  try {
    const out = await new Deno.Command(command, { args, stdout: "piped", stderr: "null" }).output();
    const lines = new TextDecoder().decode(out.stdout).split("\n");
    return (lines.find((line) => /^version\b/i.test(line)) ?? lines.find((line) => /\d/.test(line)))
      ?.trim() ?? "unknown";
  } catch {
    return "not installed";
  }
}
