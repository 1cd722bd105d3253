import { chmodSync, lstatSync, mkdtempSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync, existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { Step } from "../engine/kind";
import { quoteArgv } from "../ssh/quote";
import {
  type Artifact,
  driftOf,
  FINGERPRINT_ARGV,
  NETWORKD_DIR,
  parseFingerprints,
  removeStep,
  removeSteps,
  SCRIPT_DIR,
  UNIT_DIR,
  WANTS_DIR,
  writeSteps,
} from "./files";
import { networkdArtifacts, renderIni } from "./networkd";
import { aliasText } from "../engine/fields";
import { oneshotArtifacts } from "./oneshot";

/**
 * The fixed scripts persistence runs on hosts, run here by a real sh against a temporary
 * directory (the paths they touch are their arguments), and the oneshot replay script run
 * with a fake `ip` that records what it was asked to do.
 */
let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), "netdev-persist-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

async function run(step: Step, env: Record<string, string> = {}): Promise<{ exitCode: number; stderr: string }> {
  expect(step.tool).toBe("sh");
  const result = await execa("sh", step.args, { input: step.stdin ?? "", reject: false, env });
  return { exitCode: result.exitCode ?? -1, stderr: result.stderr };
}

describe("write and remove", () => {
  it("writes files atomically with their modes, secrets through stdin, and links; removes only what is ours", async () => {
    const artifacts: Artifact[] = [
      { path: `${dir}/net/10-pulumi-netdev-br0.netdev`, mode: "0644", content: "# owner netdev#aaaaaaaaaaaa\n[NetDev]\nName=br0\n" },
      { path: `${dir}/lib/aaaaaaaaaaaa.stdin`, mode: "0600", content: "KEY'$(touch /tmp/pwned)`x`\n", secret: true },
      { path: `${dir}/wants/pulumi-netdev-aaaaaaaaaaaa.service`, linkTo: `${dir}/units/pulumi-netdev-aaaaaaaaaaaa.service` },
    ];
    const steps = writeSteps(artifacts);
    expect(steps.filter((step) => step.stdin !== undefined)).toHaveLength(1);
    expect(steps.flatMap((step) => step.args).join(" ")).not.toContain("KEY");
    for (const step of steps) expect(await run(step)).toMatchObject({ exitCode: 0 });
    expect(readFileSync(`${dir}/net/10-pulumi-netdev-br0.netdev`, "utf8")).toBe((artifacts[0] as { content: string }).content);
    expect(statSync(`${dir}/net/10-pulumi-netdev-br0.netdev`).mode & 0o777).toBe(0o644);
    expect(readFileSync(`${dir}/lib/aaaaaaaaaaaa.stdin`, "utf8")).toBe("KEY'$(touch /tmp/pwned)`x`\n");
    expect(statSync(`${dir}/lib/aaaaaaaaaaaa.stdin`).mode & 0o777).toBe(0o600);
    expect(readlinkSync(`${dir}/wants/pulumi-netdev-aaaaaaaaaaaa.service`)).toBe(`${dir}/units/pulumi-netdev-aaaaaaaaaaaa.service`);
    expect(existsSync("/tmp/pwned")).toBe(false);

    // Someone else's file under one of our paths, and a file of ours edited to lose the tag.
    writeFileSync(`${dir}/net/10-pulumi-netdev-other.netdev`, "# owner netdev#bbbbbbbbbbbb\n");
    const paths = [...artifacts.map((a) => a.path), `${dir}/net/10-pulumi-netdev-other.netdev`, `${dir}/net/absent.network`];
    expect(await run(removeStep(paths, "aaaaaaaaaaaa")[0]!)).toMatchObject({ exitCode: 0 });
    expect(existsSync(`${dir}/net/10-pulumi-netdev-br0.netdev`)).toBe(false);
    expect(existsSync(`${dir}/lib/aaaaaaaaaaaa.stdin`)).toBe(false);
    expect(() => lstatSync(`${dir}/wants/pulumi-netdev-aaaaaaaaaaaa.service`)).toThrow();
    expect(readFileSync(`${dir}/net/10-pulumi-netdev-other.netdev`, "utf8")).toContain("bbbbbbbbbbbb");
    expect(removeStep([], "aaaaaaaaaaaa")).toEqual([]);
  });

  it("removes the files of several owners in one step, each owner's only by its own tag or token, and splits steps by size", async () => {
    const file = (name: string, owner: string) => ({ path: `${dir}/net/${name}`, mode: "0644" as const, content: `# owner netdev#${owner}\n` });
    const files = [file("a.netdev", "aaaaaaaaaaaa"), file("b.netdev", "bbbbbbbbbbbb"), file("c.netdev", "cccccccccccc")];
    // Room for two files' arguments per step.
    const maxBytes = 2 * ["file", "0644", files[0]!.path, files[0]!.content].join("").length;
    expect(writeSteps(files, { maxBytes })).toHaveLength(2);
    for (const step of writeSteps(files, { maxBytes })) expect((await run(step)).exitCode).toBe(0);
    const all = files.map((f) => f.path);
    // Owner a asks for every path, owner b for its own: c's file stays.
    const steps = removeSteps([
      { token: "aaaaaaaaaaaa", paths: all },
      { token: "bbbbbbbbbbbb", paths: [files[1]!.path] },
    ]);
    expect(steps).toHaveLength(1);
    expect(await run(steps[0]!)).toMatchObject({ exitCode: 0 });
    expect(all.map((p) => existsSync(p))).toEqual([false, false, true]);
    expect(
      removeSteps(
        [
          { token: "aaaaaaaaaaaa", paths: all },
          { token: "bbbbbbbbbbbb", paths: all },
        ],
        { maxBytes: 100 },
      ),
    ).toHaveLength(2);
    expect(removeSteps([{ token: "aaaaaaaaaaaa", paths: [] }])).toEqual([]);
  });

  it("fails (and says so) when a file cannot be written", async () => {
    writeFileSync(`${dir}/file`, "");
    const [step] = writeSteps([{ path: `${dir}/file/below`, mode: "0644", content: "x" }]);
    expect((await run(step!)).exitCode).not.toBe(0);
  });
});

describe("fingerprints", () => {
  it("lists hashes and links, and reports what is missing or edited", async () => {
    const files: Artifact[] = [
      { path: `${dir}/network/10-pulumi-netdev-br0.netdev`, mode: "0644", content: "[NetDev]\nName=br0\n" },
      { path: `${dir}/network/10-pulumi-netdev-br0.network`, mode: "0644", content: "[Match]\nName=br0\n" },
      { path: `${dir}/system/multi-user.target.wants/pulumi-netdev-aaaaaaaaaaaa.service`, linkTo: `${dir}/system/pulumi-netdev-aaaaaaaaaaaa.service` },
    ];
    for (const step of writeSteps(files)) expect((await run(step)).exitCode).toBe(0);
    // The listing script with its fixed directories moved under the temporary one.
    const script = FINGERPRINT_ARGV[2]!
      .replace(NETWORKD_DIR, `${dir}/network`)
      .replace(WANTS_DIR, `${dir}/system/multi-user.target.wants`)
      .replace(UNIT_DIR, `${dir}/system`)
      .replace(SCRIPT_DIR, `${dir}/lib`);
    const list = async () => parseFingerprints((await execa("sh", ["-c", script])).stdout);
    expect(driftOf(files, await list())).toEqual([]);
    writeFileSync(files[0]!.path, "[NetDev]\nName=br1\n");
    rmSync(files[1]!.path);
    expect(driftOf(files, await list())).toEqual([`${files[0]!.path} (edited)`, `${files[1]!.path} (missing)`]);
  });
});

describe("oneshot replay", () => {
  const steps: Step[] = [
    { field: "create", tool: "ip", netns: "c1", args: ["link", "add", "name", "v0", "type", "veth", "peer", "name", "v1"] },
    { field: "alias", tool: "ip", netns: "c1", args: ["link", "set", "dev", "v0", "alias", "netdev#aaaaaaaaaaaa it's mine"] },
    { field: "key", tool: "wg", netns: "c1", args: ["set", "v0", "private-key", "/proc/self/fd/0"], stdin: "SECRET" },
  ];
  const replayFiles = () =>
    oneshotArtifacts({
      token: "aaaaaaaaaaaa",
      what: "VethPair v0 in namespace c1",
      steps,
      namespaces: ["c1"],
      waitFor: [{ name: "br0" }],
      exists: { field: "name", tool: "ip", netns: "c1", args: ["link", "show", "dev", "v0"] },
    });

  /** A fake `ip` and `wg`: each call appended to calls.log (with its stdin for wg); `ip … link show dev <name>` succeeds when <name> is listed in present. */
  function fakeTools(present: string[]) {
    const bin = `${dir}/bin`;
    mkdirSync(bin);
    const fake = (name: string) => {
      writeFileSync(
        `${bin}/${name}`,
        `#!/bin/sh\nprintf '%s' ${name} >> ${quoteArgv([`${dir}/calls.log`])}\nfor a; do printf ' [%s]' "$a" >> ${quoteArgv([`${dir}/calls.log`])}; done\n` +
          `[ ${name} = wg ] && printf ' stdin=%s' "$(cat)" >> ${quoteArgv([`${dir}/calls.log`])}\necho >> ${quoteArgv([`${dir}/calls.log`])}\n` +
          `case " $* " in *" link show dev "*) for p in ${present.join(" ")}; do case " $* " in *" dev $p ") exit 0 ;; esac; done; exit 1 ;; esac\nexit 0\n`,
      );
      chmodSync(`${bin}/${name}`, 0o755);
    };
    fake("ip");
    fake("wg");
    return { PATH: `${bin}:${process.env.PATH}` };
  }

  async function replay(present: string[]): Promise<string[]> {
    const files = replayFiles();
    const script = files.find((file) => file.path.endsWith(".sh")) as { content: string };
    writeFileSync(`${dir}/aaaaaaaaaaaa.stdin`, (files.find((file) => file.path.endsWith(".stdin")) as { content: string }).content);
    // /run/netns/<ns> never exists here, so the namespace is made first (by the fake ip).
    writeFileSync(`${dir}/replay.sh`, script.content.replaceAll(`${SCRIPT_DIR}/`, `${dir}/`));
    const result = await execa("sh", [`${dir}/replay.sh`], { env: fakeTools(present), reject: false });
    expect(result.exitCode, result.stderr).toBe(0);
    return readFileSync(`${dir}/calls.log`, "utf8").trim().split("\n");
  }

  it("replays the provider's argv after its namespace and the devices it waits for, the secret from its 0600 file", async () => {
    expect(await replay(["br0"])).toEqual([
      "ip [netns] [add] [c1]",
      "ip [-n] [c1] [link] [set] [dev] [lo] [up] [alias] [netdev-auto]",
      "ip [link] [show] [dev] [br0]",
      "ip [-n] [c1] [link] [show] [dev] [v0]",
      "ip [-n] [c1] [link] [add] [name] [v0] [type] [veth] [peer] [name] [v1]",
      "ip [-n] [c1] [link] [set] [dev] [v0] [alias] [netdev#aaaaaaaaaaaa it's mine]",
      "ip [netns] [exec] [c1] [wg] [set] [v0] [private-key] [/proc/self/fd/0]",
    ]);
    const files = replayFiles();
    expect(files.find((file) => file.path.endsWith(".stdin"))).toMatchObject({ mode: "0600", secret: true });
    expect(
      files
        .filter((file) => "content" in file && !("secret" in file && file.secret))
        .map((file) => (file as { content: string }).content)
        .join("\n"),
    ).not.toContain("SECRET");
    const unit = files.find((file) => file.path.endsWith(".service") && "content" in file) as { content: string };
    expect(unit.content).toContain("After=systemd-networkd.service pulumi-netdev-netns-c1.service");
  });

  it("does nothing when the device is already there (a re-run)", async () => {
    expect(await replay(["br0", "v0"])).toEqual([
      "ip [netns] [add] [c1]",
      "ip [-n] [c1] [link] [set] [dev] [lo] [up] [alias] [netdev-auto]",
      "ip [link] [show] [dev] [br0]",
      "ip [-n] [c1] [link] [show] [dev] [v0]",
    ]);
  });
});

describe("renderIni", () => {
  it("leaves out undefined keys, repeats lists, writes booleans as yes/no, repeats sections", () => {
    expect(
      renderIni([
        ["NetDev", { Name: "br0", MTUBytes: undefined, STP: true }],
        ["Network", { Address: ["10.0.0.1/24", "fd00::1/64"], DHCP: false }],
        ["BridgeFDB", { Destination: "10.0.0.2" }],
        ["BridgeFDB", { Destination: "10.0.0.3" }],
      ]),
    ).toBe(
      "[NetDev]\nName=br0\nSTP=yes\n\n[Network]\nAddress=10.0.0.1/24\nAddress=fd00::1/64\nDHCP=no\n\n[BridgeFDB]\nDestination=10.0.0.2\n\n[BridgeFDB]\nDestination=10.0.0.3\n",
    );
  });

  it("refuses a value systemd would join with the next line (a trailing backslash) or split (a newline)", () => {
    expect(() => renderIni([["Link", { Alias: "netdev#aaaaaaaaaaaa C:\\" }]])).toThrow(/Alias.*backslash/);
    expect(() => renderIni([["Link", { Alias: "a\nMACAddressPolicy=random" }]])).toThrow(/Alias.*line/);
    expect(renderIni([["Link", { Alias: "a \\ b" }]])).toBe("[Link]\nAlias=a \\ b\n");
  });

  it("an alias ending in a backslash is refused by validation, before any host sees it", () => {
    expect(aliasText.safeParse("C:\\").success).toBe(false);
    expect(aliasText.safeParse("a \\ b").success).toBe(true);
    const link = networkdArtifacts(
      { kind: "bridge" },
      { name: "br0", up: true, alias: "a \\ b" },
      "netdev#aaaaaaaaaaaa a \\ b",
      "aaaaaaaaaaaa",
      "Bridge br0",
    ).find((file) => file.path.endsWith(".link")) as { content: string };
    expect(link.content).toContain("\nAlias=netdev#aaaaaaaaaaaa a \\ b\n");
  });
});
