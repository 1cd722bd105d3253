import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { repoRoot } from "../../lab/hosts";
import { labProgram } from "../../lab/stack";

/**
 * What the Pulumi CLI prints when a component is given a bad value: one error under the
 * component naming it, the host and the field; no stack trace, no OpenSSL code, no SDK
 * "error serializing property" prefixes. Previews only: nothing reaches a host.
 */
describe("component errors as the CLI prints them", () => {
  const { workDir, env } = labProgram(path.join(repoRoot, "test/e2e/component-errors"), ["Pulumi.yaml", "index.ts"], {
    "package.json": JSON.stringify({ name: "netdev-component-errors", private: true }),
  });
  const pulumi = (args: string[]) => execa("pulumi", args, { cwd: workDir, env: { ...process.env, ...env }, reject: false, stdin: "ignore" });

  it.each([
    ["malformed-key", "netdev:index:EncryptedOverlay (eov)", 'EncryptedOverlay "eov": host "b": privateKey: is not a WireGuard private key'],
    ["mixed-families", "netdev:index:VxlanOverlay (ov)", 'VxlanOverlay "ov": underlayAddress: the hosts mix IPv4 (a) and IPv6 (b)'],
    ["unknown-host", "netdev:index:Attachment (web)", `Attachment "web": host: "b" is not one of the overlay's hosts (a)`],
  ])(
    "%s",
    async (name, resource, message) => {
      if ((await pulumi(["stack", "select", "--create", name])).exitCode !== 0) throw new Error(`cannot make stack ${name}`);
      expect((await pulumi(["config", "set", "case", name])).exitCode).toBe(0);
      const preview = await pulumi(["preview", "--non-interactive"]);
      const text = `${preview.stdout}\n${preview.stderr}`;
      expect(preview.exitCode, text).not.toBe(0);
      const diagnostics = text.slice(text.indexOf("Diagnostics:"), text.indexOf("Resources:"));
      expect(diagnostics, text).toContain(`${resource}:\n    error: ${message}`);
      expect(diagnostics.split("error:").length - 1, diagnostics).toBe(1);
      expect(text).not.toMatch(/error serializing|unhandled exception|asn1|OpenSSL|ERR_OSSL|bm90LWEta2V5|\s+at .*\(.*:\d+:\d+\)/);
    },
    120_000,
  );
});
