// The SMS flow as a Node application sees it, through the official `twilio` npm package sent to
// telverify instead of Twilio. tests/test_node_sdk.py drives it; it runs by hand too:
//
//   TELVERIFY_URL=http://127.0.0.1:8000 TELVERIFY_API_KEY=dev TELVERIFY_API_SECRET=... \
//     TELVERIFY_TO=+447400123456 node tests/node/verify_flow.js
//
// Environment: TELVERIFY_URL (telverify's base URL), TELVERIFY_API_KEY and TELVERIFY_API_SECRET
// (one pair of API_CREDENTIALS), TELVERIFY_TO (the number texted), and optionally
// TELVERIFY_ACCOUNT_SID. twilio-node takes the username for the account SID unless given one,
// and refuses one that does not start with AC, so an API key id (SK...) needs its account's
// SID beside it, as with Twilio. Verify's URLs carry no account SID: telverify knows the
// account from the credentials, and answers with it in every resource.
//
// Protocol: each step prints one JSON object on a line of stdout. After the verification line
// the script waits for the code on a line of stdin (the test reads it from the Twilio stand-in,
// a person from the dev phone), then checks a wrong code, the right code, and a code on a
// service that does not exist. Anything unexpected ends it with a non-zero status and the
// error on stderr.
"use strict";

const readline = require("node:readline");
const twilio = require("twilio");

// The SDK builds each request for Twilio (https://verify.twilio.com/v2/...); this sends it to
// telverify, keeping the path and query the SDK built. A path in the base URL (telverify behind
// a proxy at /telverify, say) stays in front of it.
class TelverifyRequestClient extends twilio.RequestClient {
  constructor(baseUrl, opts) {
    super(opts);
    this.base = new URL(baseUrl);
  }

  request(opts) {
    const original = new URL(opts.uri);
    const target = new URL(this.base);
    target.pathname = this.base.pathname.replace(/\/+$/, "") + original.pathname;
    target.search = original.search;
    return super.request({ ...opts, uri: target.href });
  }
}

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

function say(step, fields) {
  process.stdout.write(JSON.stringify({ step, ...fields }) + "\n");
}

// The first line on stdin, trimmed. stdin closing first is an error: the caller gave up.
async function firstLine() {
  const lines = readline.createInterface({ input: process.stdin, terminal: false });
  const { value, done } = await lines[Symbol.asyncIterator]().next();
  lines.close();
  if (done) throw new Error("stdin closed before a code arrived");
  return value.trim();
}

async function main() {
  const baseUrl = required("TELVERIFY_URL");
  const to = required("TELVERIFY_TO");
  const client = twilio(required("TELVERIFY_API_KEY"), required("TELVERIFY_API_SECRET"), {
    accountSid: process.env.TELVERIFY_ACCOUNT_SID || "AC00000000000000000000000000000000",
    httpClient: new TelverifyRequestClient(baseUrl, { timeout: 10000 }),
  });

  const service = await client.verify.v2.services.create({ friendlyName: "Acme" });
  say("service", { sid: service.sid, friendlyName: service.friendlyName, accountSid: service.accountSid });

  const verification = await client.verify.v2.services(service.sid).verifications.create({ to, channel: "sms" });
  say("verification", {
    sid: verification.sid,
    status: verification.status,
    channel: verification.channel,
    to: verification.to,
    sendCodeAttempts: verification.sendCodeAttempts.length,
  });

  const code = await firstLine();
  const checks = client.verify.v2.services(service.sid).verificationChecks;

  // A wrong code leaves the verification pending, so the right one still approves it after.
  const wrong = await checks.create({ to, code: code === "000000" ? "111111" : "000000" });
  say("wrong_code", { sid: wrong.sid, status: wrong.status, valid: wrong.valid });

  const check = await checks.create({ to, code });
  say("check", { sid: check.sid, status: check.status, valid: check.valid });

  // A well-formed service SID that names no service: the SDK rejects with RestException.
  try {
    const stray = await client.verify.v2.services("VA" + "0".repeat(32)).verificationChecks.create({ to, code });
    say("unknown_service", { error: null, status: stray.status });
  } catch (error) {
    if (!(error instanceof twilio.RestException)) throw error;
    say("unknown_service", {
      error: error.constructor.name,
      status: error.status,
      code: error.code,
      message: error.message,
    });
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exitCode = 1;
});
