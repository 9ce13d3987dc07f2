/** Strict flag parsing for the tools' command lines, with one way to say a flag is wrong. */
import { parseArgs, type ParseArgsConfig } from "node:util";

type FlagOptions = NonNullable<ParseArgsConfig["options"]>;
type Parsed<O extends FlagOptions> = ReturnType<
  typeof parseArgs<{ args: string[]; options: O; strict: true }>
>["values"];

/** The parsed flags, or undefined after printing why they cannot be read (exit code 2). */
export function readFlags<const O extends FlagOptions>(
  args: string[],
  options: O,
): Parsed<O> | undefined {
  try {
    return parseArgs({ args, options, strict: true }).values as Parsed<O>;
  } catch (error) {
    console.error(`Cannot read arguments: ${(error as Error).message}; see --help`);
    return undefined;
  }
}
