/** Runs a command to its end for a test: its exit code and everything it printed. */
export async function commandOutput(
  command: string,
  options: { args: string[]; cwd?: string; env?: Record<string, string> },
): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command(command, { ...options, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return {
    code: result.code,
    output: decoder.decode(result.stdout) + decoder.decode(result.stderr),
  };
}
