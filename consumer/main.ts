/**
 * `deno task consumer`: the consumer from the command line. Exits 0 after a
 * clean stop (SIGINT/SIGTERM), 1 when it could not commit what it had read or
 * hit a fatal error, 2 on a bad setting. `consumer migrate` only applies the
 * migrations and exits (the binary carries them; compose's `migrate` service).
 */
import { loadConfigOrExit, processLogger, shutdownSignal } from "@activity/shared/runtime";
import { consumerProgram } from "./config.ts";
import { migrateCommand } from "./migrate_main.ts";
import { runConsumer } from "./run.ts";

if (import.meta.main && Deno.args[0] === "migrate") {
  Deno.exit(await migrateCommand(Deno.args.slice(1)));
}

if (import.meta.main) {
  const config = loadConfigOrExit(consumerProgram);
  const log = processLogger("consumer", config.logLevel);
  const shutdown = shutdownSignal();
  const controller = new AbortController();
  let deadline: ReturnType<typeof setTimeout> | undefined;
  shutdown.promise.then((signal) => {
    log.info("stopping", { signal });
    controller.abort();
    // A second signal, or a stop that hangs, must not keep the process alive for ever.
    deadline = setTimeout(() => {
      log.error("did not stop within 18 s; exiting");
      Deno.exit(1);
    }, 18_000);
  });
  let code = 1;
  try {
    const summary = await runConsumer(config, { log, signal: controller.signal });
    code = summary.abandonedEvents > 0 ? 1 : 0;
  } catch (error) {
    log.error("consumer failed", { error: error as Error });
  } finally {
    shutdown.dispose();
    clearTimeout(deadline);
  }
  // From a task of its own: under `deno run --watch` (deno task dev) an exit called right in
  // this continuation did not end the program, which then waited for the 18 s deadline.
  setTimeout(() => Deno.exit(code), 0);
}
