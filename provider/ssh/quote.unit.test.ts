import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { quoteArg, quoteArgv } from "./quote";
import { argvSeenByAsync, HOSTILE, noteSkippedShells, requireShell, shellSkipReason, SHELLS, shellTitle } from "../../test/support/shells";

describe("quoteArg", () => {
  it("leaves plain words alone and single-quotes everything else", () => {
    expect(quoteArg("eth0")).toBe("eth0");
    expect(quoteArg("10.0.0.1/24")).toBe("10.0.0.1/24");
    expect(quoteArg("")).toBe("''");
    expect(quoteArg("a b")).toBe("'a b'");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArg("$(reboot)")).toBe("'$(reboot)'");
    expect(quoteArg("a\nb")).toBe("'a\nb'");
  });

  it("quotes words a shell would expand or read as syntax at the start", () => {
    expect(quoteArg("=ls")).toBe("'=ls'"); // zsh: the path of ls
    expect(quoteArg("=")).toBe("'='");
    expect(quoteArg("a=b")).toBe("'a=b'"); // an assignment as the first word
    expect(quoteArg("%1")).toBe("'%1'"); // bash/zsh: job 1 as the first word
    expect(quoteArg("50%")).toBe("50%");
    expect(quoteArg("~")).toBe("'~'");
    expect(quoteArg("~root")).toBe("'~root'");
    expect(quoteArg("time")).toBe("'time'");
    expect(quoteArg("if")).toBe("'if'");
    expect(quoteArg("noglob")).toBe("'noglob'");
    expect(quoteArg("timeout")).toBe("timeout");
  });

  it("refuses NUL, which no remote argv can carry", () => {
    expect(() => quoteArg("a\0b")).toThrow(/NUL/);
  });

  it("refuses an empty command", () => {
    expect(() => quoteArgv([])).toThrow(/empty/);
  });
});

describe("quoting through real shells (dash, bash, zsh, busybox sh)", () => {
  noteSkippedShells();
  for (const shell of SHELLS)
    it.skipIf(shellSkipReason(shell))(shellTitle(`${shell.name} sees exactly the argv that was quoted`, shell), { timeout: 300_000 }, async () => {
      requireShell(shell);
      for (const value of HOSTILE) expect(await argvSeenByAsync(shell, [value])).toEqual([value]);
      expect(await argvSeenByAsync(shell, HOSTILE)).toEqual(HOSTILE);
      const utf8 = (s: string) => !s.includes("\0") && Buffer.from(s, "utf8").toString("utf8") === s;
      const word = fc
        .oneof(
          fc.constantFrom(...HOSTILE),
          fc.string({ unit: "binary-ascii", maxLength: 24 }),
          fc.string({ unit: "grapheme", maxLength: 12 }),
          fc.stringMatching(/^[=%~][a-z]{0,6}$/),
        )
        .filter(utf8);
      await fc.assert(
        fc.asyncProperty(fc.array(word, { minLength: 1, maxLength: 5 }), async (args) => {
          expect(await argvSeenByAsync(shell, args)).toEqual(args);
        }),
        { numRuns: 150 },
      );
    });
});
