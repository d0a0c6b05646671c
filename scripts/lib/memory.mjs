// What a Worker's isolate holds in memory while it serves, as the edge limits it (128 MB per
// isolate): its V8 heap and the backing stores of its ArrayBuffers, the wasm instance's linear
// memory among them, read through workerd's inspector (Chrome DevTools Protocol,
// `Runtime.getHeapUsage`). workerd's process RSS is no measure of it: the process holds every
// isolate, the runtime and its caches. The wasm linear memory is read apart: V8 does not count it
// among the backing stores; the inspector finds the isolate's WebAssembly.Memory objects and
// sums their sizes (a linear memory only grows: read at the end, it is the run's most). Once a
// second it also forces a full collection and reads the heap again: what is live with the
// requests in flight, which is what the limit is held to (the forced collections slow the run a
// little). Needs Node's WebSocket (`--experimental-websocket` on Node 20).

/** Samples the isolate of Miniflare worker `name` (its inspector on `port`) while `during()` runs. */
export async function isolateMemory(port, name, during, everyMs = 200) {
  const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
  const target = targets.find((t) => t.id === `core:user:${name}`) ?? targets.find((t) => `${t.title} ${t.id}`.includes(name));
  if (!target) throw new Error(`no inspector target for ${name}: ${targets.map((t) => t.id).join(", ")}`);
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = reject;
  });
  let next = 0;
  const pending = new Map();
  const contexts = [];
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    if (msg.method === "Runtime.executionContextCreated") contexts.push(msg.params.context.id);
    if (msg.id !== undefined && pending.has(msg.id)) {
      pending.get(msg.id)(msg);
      pending.delete(msg.id);
    }
  };
  const call = (method, params = {}) =>
    new Promise((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  const samples = [];
  const sample = async () => {
    const r = await call("Runtime.getHeapUsage");
    if (r.result) samples.push(r.result);
  };
  // What is still reachable with the requests in flight: a full collection, then the heap. The
  // edge's limit is on this (an isolate is collected before it is found over its 128 MB); what
  // `usedSize` shows between collections also holds garbage not yet collected.
  const live = [];
  let liveError = null;
  const liveSample = async () => {
    const collected = await call("HeapProfiler.collectGarbage");
    if (collected.error) liveError ??= new Error(`inspector: HeapProfiler.collectGarbage: ${JSON.stringify(collected.error)}`);
    const r = await call("Runtime.getHeapUsage");
    if (r.result && !collected.error) live.push(r.result);
  };
  await sample();
  const timer = setInterval(sample, everyMs);
  const liveTimer = setInterval(liveSample, 1000);
  try {
    await during();
  } finally {
    clearInterval(timer);
    clearInterval(liveTimer);
  }
  if (liveError) throw liveError;
  await sample();
  // Every WebAssembly.Memory of the isolate (queryObjects walks the heap: once, at the end).
  await call("Runtime.enable");
  const proto = await call("Runtime.evaluate", { expression: "WebAssembly.Memory.prototype", contextId: contexts[0] });
  if (!proto.result?.result?.objectId) throw new Error(`inspector: ${JSON.stringify(proto)}`);
  const found = await call("Runtime.queryObjects", { prototypeObjectId: proto.result.result.objectId });
  const sized = await call("Runtime.callFunctionOn", {
    objectId: found.result.objects.objectId,
    functionDeclaration: "function () { return this.reduce((n, m) => n + m.buffer.byteLength, 0); }",
    returnByValue: true,
  });
  const wasmMemory = sized.result?.result?.value ?? null;
  ws.close();
  const max = (k) => Math.max(...samples.map((s) => s[k] ?? 0));
  const liveMax = (k) => (live.length ? Math.max(...live.map((s) => s[k] ?? 0)) : null);
  return {
    samples: samples.length,
    live_samples: live.length,
    heap_live_max: liveMax("usedSize"),
    backing_stores_live_max: liveMax("backingStorageSize"),
    heap_used_max: max("usedSize"),
    heap_total_max: max("totalSize"),
    backing_stores_max: max("backingStorageSize"),
    wasm_linear_memory: wasmMemory,
  };
}
