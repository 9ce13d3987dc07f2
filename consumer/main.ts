/**
 * `deno task consumer`: the consumer from the command line. Exits 0 after a
 * clean stop (SIGINT/SIGTERM), 1 when it could not commit what it had read or
 * stopped on a fatal error, 2 on a bad setting or a start it must refuse (a
 * busy metrics port, a topic counted by another consumer group). A second
 * signal leaves at once (what is not committed is read again next time).
 * `consumer migrate` only applies the migrations and exits (the binary
 * carries them; compose's one-shot `migrate` service).
 */
import {
  EXIT_USAGE,
  HealthServerError,
  loadConfigOrExit,
  processLogger,
  shutdownSignals,
} from "@activity/shared/runtime";
import { consumerProgram } from "./config.ts";
import { migrateCommand } from "./migrate_main.ts";
import { runConsumer } from "./run.ts";
import { SHUTDOWN_BUDGET } from "./shutdown_budget.ts";
import { TopicOwnedError } from "./topic_owner.ts";

if (import.meta.main && Deno.args[0] === "migrate") {
  Deno.exit(await migrateCommand(Deno.args.slice(1)));
}

if (import.meta.main) {
  const config = loadConfigOrExit(consumerProgram);
  const log = processLogger("consumer", config.logLevel);
  const shutdown = shutdownSignals();
  const controller = new AbortController();
  let deadline: ReturnType<typeof setTimeout> | undefined;
  shutdown.first.then((signal) => {
    log.info("stopping: committing what is buffered", { signal });
    controller.abort();
    // A stop that hangs must not keep the process alive for ever.
    deadline = setTimeout(() => {
      log.error(`did not stop within ${SHUTDOWN_BUDGET.hardExitMs / 1000} s; exiting`);
      Deno.exit(1);
    }, SHUTDOWN_BUDGET.hardExitMs);
  });
  shutdown.second.then((signal) => {
    log.warn("second signal: leaving at once; what is not committed will be read again", {
      signal,
    });
    Deno.exit(130);
  });
  let code = 1;
  try {
    const summary = await runConsumer(config, { log, signal: controller.signal });
    code = summary.abandonedEvents > 0 ? 1 : 0;
  } catch (error) {
    if (error instanceof TopicOwnedError || error instanceof HealthServerError) {
      log.error(error.message);
      code = EXIT_USAGE;
    } else {
      log.error("consumer failed", { error: error as Error });
    }
  } finally {
    shutdown.dispose();
    clearTimeout(deadline);
  }
  // From a task of its own: under `deno run --watch` (deno task dev) an exit called right in
  // this continuation did not end the program, which then waited for its hard-exit deadline.
  setTimeout(() => Deno.exit(code), 0);
}
