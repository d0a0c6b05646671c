// The entry module of each Worker bundle (copied next to worker-build's index.js by
// scripts/build.mjs). It keeps the API's error envelope true when Rust panics: a panic aborts
// the Wasm call, the request's promise never settles, and the runtime would answer a bare
// "Internal Server Error". Here every request still waiting in this isolate gets the 500
// envelope instead; worker-build's shim then reinitialises the Wasm instance, so the next
// request is served normally.
import Worker from "./index.js";

const waiting = new Set();

function internalError(requestId) {
  const body = JSON.stringify({ error: { code: "internal", message: "an internal error occurred; it has been logged" } });
  return new Response(body, {
    status: 500,
    headers: { "Content-Type": "application/json; charset=utf-8", "X-Request-Id": requestId, "Server-Timing": 'd1;desc="0";dur=0.0, app;dur=0.0' },
  });
}

function failWaiting() {
  for (const settle of waiting) settle();
  waiting.clear();
}

addEventListener("error", failWaiting);
addEventListener("unhandledrejection", failWaiting);

const SAFE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export default class extends Worker {
  async fetch(request) {
    const sent = request.headers.get("X-Request-Id");
    const accepted = sent && SAFE_ID.test(sent);
    const requestId = accepted ? sent : `req_${crypto.randomUUID().replaceAll("-", "")}`;
    if (!accepted) {
      // The Worker takes the id from the request: then the log line of a request that panics
      // names the id its 500 below carries.
      const headers = new Headers(request.headers);
      headers.set("X-Request-Id", requestId);
      request = new Request(request, { headers });
    }
    let settle;
    const panicked = new Promise((resolve) => {
      settle = () => resolve(internalError(requestId));
    });
    waiting.add(settle);
    try {
      return await Promise.race([super.fetch(request), panicked]);
    } catch (e) {
      console.error(`[${requestId}] unhandled error: ${e?.message ?? e}`);
      return internalError(requestId);
    } finally {
      waiting.delete(settle);
    }
  }
}
