/** The compose command line where one is installed, for the checks that let compose read the file. */
import { commandOutput } from "./command_output.ts";

/** `docker compose` (v2) or Debian's `docker-compose` (v1), whichever answers. */
export async function composeCommand(): Promise<string[] | undefined> {
  for (const command of [["docker", "compose"], ["docker-compose"]]) {
    try {
      const { success } = await new Deno.Command(command[0], {
        args: [...command.slice(1), "version"],
        stdout: "null",
        stderr: "null",
      }).output();
      if (success) return command;
    } catch {
      // not installed
    }
  }
  return undefined;
}

/** What `compose config` printed and whether it succeeded. */
export interface ComposeConfigRun {
  readonly success: boolean;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `compose config` on the repository's docker-compose.yml with `profiles` on, an empty env
 * file (a fresh clone without .env) and no environment but PATH.
 */
export async function composeConfig(
  command: readonly string[],
  options: { repoRoot: string; profiles?: readonly string[] },
): Promise<ComposeConfigRun> {
  const emptyEnvFile = await Deno.makeTempFile({ suffix: ".env" });
  try {
    const result = await commandOutput(command[0], {
      args: [
        ...command.slice(1),
        "--project-directory",
        options.repoRoot,
        "--env-file",
        emptyEnvFile,
        "-f",
        `${options.repoRoot}/docker-compose.yml`,
        ...(options.profiles ?? []).flatMap((profile) => ["--profile", profile]),
        "config",
      ],
      clearEnv: true,
      env: { PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    });
    return { success: result.code === 0, stdout: result.stdout, stderr: result.stderr };
  } finally {
    await Deno.remove(emptyEnvFile);
  }
}
