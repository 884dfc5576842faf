// The tgbench SUT contract for the Node.js example stacks (grammY, telegraf), and what their
// servers share: everything a server is configured with comes from the environment the
// harness sets (docs/contracts.md, "The SUT contract"):
//
//   TGBENCH_API_URL      base URL of the Bot API (the mock), e.g. http://127.0.0.1:8081
//   TGBENCH_TOKENS_FILE  one bot token a line
//   TGBENCH_LISTEN       host:port the webhook server binds
//   TGBENCH_PUBLIC_URL   the URL base the webhook server registers with setWebhook
//
// Also here: the bot logic's texts (the same, word for word, as impls/src/logic.rs), token
// masking, the ready line, signal handling, and the multi-tenant webhook server both
// frameworks plug their per-bot handlers into.
"use strict";

const crypto = require("crypto");
const fs = require("fs");
const http = require("http");
const { parseArgs } = require("util");

// The update types the handlers use: given to getUpdates and setWebhook as allowed_updates.
const ALLOWED_UPDATES = ["message", "callback_query"];
const SECRET_HEADER = "x-telegram-bot-api-secret-token";

class ConfigError extends Error {}

function required(name) {
  const value = process.env[name];
  if (!value) {
    throw new ConfigError(
      `${name} is not set (the tgbench harness sets it; see docs/bring-your-own-bot.md)`,
    );
  }
  return value;
}

/** The SUT environment, checked; throws ConfigError naming the variable that is wrong. */
function sutEnv({ webhook }) {
  const apiUrl = required("TGBENCH_API_URL").replace(/\/+$/, "");
  const tokensFile = required("TGBENCH_TOKENS_FILE");
  let text;
  try {
    text = fs.readFileSync(tokensFile, "utf8");
  } catch (e) {
    throw new ConfigError(`TGBENCH_TOKENS_FILE=${tokensFile}: cannot read: ${e.message}`);
  }
  const tokens = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  if (tokens.length === 0) throw new ConfigError(`TGBENCH_TOKENS_FILE=${tokensFile}: holds no token`);
  tokens.forEach((token, i) => {
    if (!/^\d+:/.test(token)) {
      throw new ConfigError(
        `TGBENCH_TOKENS_FILE=${tokensFile} line ${i + 1}: not a bot token (${mask(token)}); expected <bot_id>:<secret>`,
      );
    }
  });
  const env = { apiUrl, tokens, listen: null, publicUrl: null };
  if (webhook) {
    const listen = required("TGBENCH_LISTEN");
    const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
    if (!m) throw new ConfigError(`TGBENCH_LISTEN=${listen}: expected host:port`);
    env.listen = { host: m[1], port: Number(m[2]) };
    env.publicUrl = required("TGBENCH_PUBLIC_URL").replace(/\/+$/, "");
  }
  return env;
}

function botIdOf(token) {
  return Number(token.slice(0, token.indexOf(":")));
}

/** A token safe to log: the bot id and the first three characters of the secret. */
function mask(token) {
  const i = token.indexOf(":");
  return `${token.slice(0, i)}:${token.slice(i + 1, i + 4)}…`;
}

// The bot logic: /start (also "/start payload", "/start@name") -> a welcome; any other text
// -> an echo, as a reply to the message (reply_parameters.message_id, which is how the mock
// pairs a reply with its update); a button press -> answerCallbackQuery "You pressed <data>".
function welcome(botId) {
  return `Welcome! I am bot ${botId}. Send me any text and I will echo it.`;
}

function isStart(text) {
  return text === "/start" || text.startsWith("/start ") || text.startsWith("/start@");
}

function replyText(botId, text) {
  return isStart(text) ? welcome(botId) : text;
}

function pressedText(data) {
  return data === undefined ? undefined : `You pressed ${data}`;
}

/** The one line a server prints when it is ready. */
function ready(line) {
  process.stdout.write(`${line}\n`);
}

/** Calls `stop` once on SIGTERM or SIGINT, then exits 0 when it resolves (1 if it throws). */
function onSignals(name, stop) {
  let stopping = false;
  const handler = () => {
    if (stopping) return;
    stopping = true;
    Promise.resolve()
      .then(stop)
      .then(
        () => {
          process.stdout.write(`${name} stopped\n`);
          process.exit(0);
        },
        (e) => {
          process.stderr.write(`${name}: stopping failed: ${e && e.stack ? e.stack : e}\n`);
          process.exit(1);
        },
      );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
}

/** `run(item)` for every item, at most `limit` at once. */
async function eachLimited(items, limit, run) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await run(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Whole-number command-line options: `spec` maps each name to [default, minimum]. */
function intOptions(spec) {
  const options = Object.fromEntries(Object.keys(spec).map((name) => [name, { type: "string" }]));
  const { values } = parseArgs({ options });
  const out = {};
  for (const [name, [fallback, min]] of Object.entries(spec)) {
    const value = values[name] === undefined ? fallback : Number(values[name]);
    if (!Number.isInteger(value) || value < min) {
      throw new ConfigError(`--${name} must be a whole number, at least ${min}`);
    }
    out[name] = value;
  }
  return out;
}

/** Fails the process with a message naming the server when it cannot start. */
function fail(name, e) {
  const message = e instanceof ConfigError ? e.message : e && e.stack ? e.stack : String(e);
  process.stderr.write(`${name}: ${message}\n`);
  process.exit(e instanceof ConfigError ? 2 : 1);
}

/**
 * The multi-tenant webhook server: `POST /webhook/<bot_id>` for every bot, `GET /health`.
 *
 * - each bot gets a random secret token, given to Telegram with setWebhook and compared in
 *   constant time before the framework sees the request (unknown bot 404, wrong secret 401);
 * - `handlerFor(token, secret)` returns the framework's `(req, res)` callback for one bot,
 *   built on the bot's first update and kept;
 * - `register(token, url, secret)` calls setWebhook for one bot; every bot is registered once
 *   the server listens, `concurrency` at a time, with retries, then the ready line is printed;
 * - /health answers 503 until every webhook is set, then 200;
 * - SIGTERM or SIGINT: stop accepting, finish the requests in hand, exit 0.
 */
async function serveWebhooks({ name, env, handlerFor, register, concurrency = 32 }) {
  const secrets = new Map(env.tokens.map((t) => [botIdOf(t), crypto.randomBytes(32).toString("hex")]));
  const tokenOf = new Map(env.tokens.map((t) => [botIdOf(t), t]));
  const handlers = new Map();
  const state = { done: false, ok: 0, failed: [] };

  const server = http.createServer((req, res) => {
    const path = req.url.split("?")[0];
    if (req.method === "GET" && path === "/health") {
      const status = state.done && state.failed.length === 0 ? "ok" : state.done ? "degraded" : "starting";
      res.writeHead(status === "ok" ? 200 : 503, { "content-type": "application/json" });
      res.end(JSON.stringify({ status, bots: env.tokens.length, webhooks_set: state.ok, webhooks_failed: state.failed.length }));
      return;
    }
    const m = /^\/webhook\/(\d+)$/.exec(path);
    const botId = m ? Number(m[1]) : NaN;
    if (req.method !== "POST" || !tokenOf.has(botId)) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end('{"error":"unknown bot"}');
      return;
    }
    const expected = Buffer.from(secrets.get(botId));
    const given = Buffer.from(String(req.headers[SECRET_HEADER] || ""));
    if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
      res.writeHead(401, { "content-type": "application/json" });
      res.end('{"error":"bad secret token"}');
      return;
    }
    let handler = handlers.get(botId);
    if (handler === undefined) {
      handler = handlerFor(tokenOf.get(botId), secrets.get(botId));
      handlers.set(botId, handler);
    }
    handler(req, res);
  });
  // A burst of deliveries to thousands of bots must not overflow the listen backlog.
  server.maxConnections = Infinity;
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: env.listen.host, port: env.listen.port, backlog: 2048 }, resolve);
  });

  onSignals(name, () => new Promise((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
  }));

  await eachLimited(env.tokens, concurrency, async (token) => {
    const botId = botIdOf(token);
    const url = `${env.publicUrl}/webhook/${botId}`;
    let delay = 500;
    for (let attempt = 1; attempt <= 5; attempt++) {
      try {
        await register(token, url, secrets.get(botId));
        state.ok++;
        return;
      } catch (e) {
        const retryAfter = e && e.parameters && e.parameters.retry_after;
        const code = e && (e.error_code || (e.response && e.response.error_code));
        if (code && code >= 400 && code < 500 && code !== 429) {
          process.stderr.write(`${name}: setWebhook for ${mask(token)} refused: ${e.message}\n`);
          break;
        }
        process.stderr.write(`${name}: setWebhook for ${mask(token)} failed (attempt ${attempt}): ${e.message}\n`);
        await new Promise((r) => setTimeout(r, retryAfter ? retryAfter * 1000 : delay));
        delay *= 2;
      }
    }
    state.failed.push(token);
  });
  state.done = true;
  const failed = state.failed.length ? `, ${state.failed.length} FAILED` : "";
  ready(`${name} ready: listening on ${env.listen.host}:${env.listen.port}, ${state.ok} of ${env.tokens.length} webhooks set${failed}`);
  return server;
}

/**
 * A webhook server's whole `main`: `--register-concurrency N` (default 32), the environment,
 * then `serveWebhooks` with the framework's `handlerFor(env, token, secret)` and
 * `register(env, token, url, secret)`; bad input exits 2 with the reason.
 */
function webhookMain({ name, handlerFor, register }) {
  Promise.resolve()
    .then(async () => {
      const options = intOptions({ "register-concurrency": [32, 1] });
      const env = sutEnv({ webhook: true });
      await serveWebhooks({
        name,
        env,
        concurrency: options["register-concurrency"],
        handlerFor: (token, secret) => handlerFor(env, token, secret),
        register: (token, url, secret) => register(env, token, url, secret),
      });
    })
    .catch((e) => fail(name, e));
}

module.exports = {
  ALLOWED_UPDATES,
  ConfigError,
  botIdOf,
  eachLimited,
  fail,
  intOptions,
  mask,
  onSignals,
  pressedText,
  ready,
  replyText,
  serveWebhooks,
  sutEnv,
  webhookMain,
  welcome,
};
