import { describe, expect, it } from "vitest";
import { HostKeyMismatchError, RemoteCommandError, SshConnectError } from "../errors";
import { SudoError } from "../sudo";
import { lineReader, receivedError, sendableError } from "./protocol";

/** What a keeper's error becomes in the provider process: the same class, fields and message. */
const roundTrip = (error: unknown) => receivedError(JSON.parse(JSON.stringify(sendableError(error))));

describe("the keeper's protocol", () => {
  it("hands a provider the error its own pool would have thrown", () => {
    const errors = [
      new RemoteCommandError("root@h:22", "ip link add x type dummy", { kind: "timeout", timeoutMs: 500, mayHaveRun: true }, "stderr text", 3),
      new RemoteCommandError("root@h:22", "false", 1, ""),
      new SshConnectError("root@h:22", { kind: "auth", user: "root", detail: "All configured authentication methods failed" }),
      new HostKeyMismatchError("root@h:22", ["SHA256:a"], "SHA256:b"),
      new SudoError("deploy@h:22", "ip link", 1, "sudo on h asks deploy for a password", "no-password"),
    ];
    for (const error of errors) {
      const received = roundTrip(error);
      expect(received.constructor).toBe(error.constructor);
      expect(received.message).toBe(error.message);
      expect(received).toMatchObject({ ...error });
    }
    const plain = roundTrip(new TypeError("bad"));
    expect([plain.name, plain.message]).toEqual(["TypeError", "bad"]);
  });

  it("reads lines split anywhere across chunks, and stops at one that is not JSON", () => {
    const seen: unknown[] = [];
    const broken: string[] = [];
    const read = lineReader(
      (message) => seen.push(message),
      (why) => broken.push(why),
    );
    const text = `${JSON.stringify({ id: 1, text: "é\n" })}\n${JSON.stringify({ id: 2 })}\n`;
    const bytes = Buffer.from(text);
    for (let i = 0; i < bytes.length; i += 3) read(bytes.subarray(i, i + 3));
    expect(seen).toEqual([{ id: 1, text: "é\n" }, { id: 2 }]);
    read(Buffer.from("not json\n{}\n"));
    expect(broken).toEqual(["a line that is not JSON"]);
    expect(seen).toHaveLength(2);
  });

  it("takes only JSON objects: null, a number or a list ends the stream", () => {
    for (const text of ["null", "5", "[1]", '"text"']) {
      const broken: string[] = [];
      const seen: unknown[] = [];
      lineReader(
        (message) => seen.push(message),
        (why) => broken.push(why),
      )(Buffer.from(`${text}\n{"id":1}\n`));
      expect([seen, broken]).toEqual([[], ["a line that is not a JSON object"]]);
    }
  });
});
