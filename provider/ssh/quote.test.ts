import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { connection } from "../../test/support/lab-hosts";
import { SshPool } from "./pool";

// The quoting rules alone, and through local shells: quote.unit.test.ts.
describe("quoting on a real host", () => {
  const pool = new SshPool();
  afterAll(() => pool.closeAll());
  // Looked up when a test runs, so the lab-free tests above run without a lab.
  const printed = async (value: string) => (await pool.run(connection("h1"), ["printf", "%s", value])).toString();

  it.each([
    ["spaces", "name with  spaces"],
    ["single quotes", "it's 'quoted'"],
    ["double quotes", 'say "hi"'],
    ["command substitution", "$(touch /tmp/netdev-pwned)`id`"],
    ["variables", "$HOME ${PATH} $1"],
    ["newlines and tabs", "line1\nline2\ttab\r\n"],
    ["glob and redirection", "* ? [a] > /tmp/x < /etc/passwd | cat & ; #"],
    ["backslashes", "\\ \\\\ \\n"],
    ["leading dash", "-n"],
    ["unicode", "ünïcødé 名前 🙂"],
  ])("round-trips %s unchanged", async (_label, value) => {
    expect(await printed(value)).toBe(value);
  });

  it("round-trips arbitrary strings through printf %s unchanged (property)", async () => {
    const noNul = (s: string) => !s.includes("\0");
    await fc.assert(
      fc.asyncProperty(
        fc
          .oneof(fc.string({ unit: "binary-ascii", maxLength: 64 }), fc.string({ unit: "grapheme", maxLength: 32 }), fc.string({ maxLength: 64 }))
          .filter(noNul),
        async (value) => {
          expect(await printed(value)).toBe(value);
        },
      ),
      { numRuns: 150 },
    );
    const { exitCode } = await pool.exec(connection("h1"), ["test", "-e", "/tmp/netdev-pwned"]);
    expect(exitCode).toBe(1);
  });
});
