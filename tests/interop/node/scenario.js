'use strict';
// The bridge scenario driven by the unmodified node ari-client, which builds
// its API from the server's /ari/api-docs/resources.json at run time.
//
// Usage: node scenario.js <base url> <user> <password>
// Prints one JSON object a line:
//   {"kind": "event", "type": ..., "channel": id?, "bridge": id?}  every event of the app
//   {"kind": "rest", "op": ..., ...}                                what the REST calls answered
//   {"kind": "done"}  at the end, or {"kind": "error", "message": ...} (exit status 1).
const ari = require('ari-client');

const [baseUrl, user, password] = process.argv.slice(2);

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function fail(err) {
  out({ kind: 'error', message: String((err && err.stack) || err) });
  process.exit(1);
}

// stdout carries only the JSON lines: the library's console chatter (its
// swagger-client warns about the Swagger 1.2 format) goes to stderr.
console.log = console.error;
console.info = console.error;
console.warn = console.error;

process.on('unhandledRejection', fail);
process.on('uncaughtException', fail);
setTimeout(() => fail(new Error('scenario timed out')), 8000).unref();

// Resolves the first time `emitter` emits `name` (ari-client instance events).
function once(emitter, name) {
  return new Promise((resolve) => emitter.once(name, (event, obj) => resolve([event, obj])));
}

async function main() {
  const client = await ari.connect(baseUrl, user, password);

  client.on('*', (event) => {
    const line = { kind: 'event', type: event.type };
    if (event.channel) line.channel = event.channel.id;
    if (event.bridge) line.bridge = event.bridge.id;
    out(line);
  });

  // Answer every channel that enters the app; remember who was answered.
  const answered = new Map();
  const bothAnswered = new Promise((resolve, reject) => {
    client.on('StasisStart', (event, channel) => {
      channel
        .answer()
        .then(() => {
          answered.set(channel.id, true);
          out({ kind: 'rest', op: 'answer', channel: channel.id });
          if (answered.size === 2) resolve();
        })
        .catch(reject);
    });
  });

  await client.start('hello');

  // Alice through the repository call, Bob as a client-made instance whose
  // id ari-client generates (originateWithId).
  const alice = await client.channels.originate({ endpoint: 'Sim/alice', app: 'hello' });
  out({ kind: 'rest', op: 'originate', id: alice.id, name: alice.name, state: alice.state });
  const bob = client.Channel();
  const bobId = bob.id;
  const bobAnswer = await bob.originate({ endpoint: 'Sim/bob', app: 'hello' });
  out({ kind: 'rest', op: 'originateWithId', asked: bobId, id: bobAnswer.id, name: bobAnswer.name });

  await bothAnswered;

  // A client-made bridge, with instance-scoped listeners set before it exists.
  const bridge = client.Bridge();
  const entered = new Set();
  const bothEntered = new Promise((resolve) => {
    bridge.on('ChannelEnteredBridge', (event, instances) => {
      entered.add(instances.channel.id);
      if (entered.size === 2) resolve();
    });
  });
  const destroyed = once(bridge, 'BridgeDestroyed');
  const made = await bridge.create({ type: 'mixing' });
  out({ kind: 'rest', op: 'createBridge', asked: bridge.id, id: made.id, bridge_type: made.bridge_type });
  await bridge.addChannel({ channel: [alice.id, bob.id] });
  await bothEntered;
  const got = await client.bridges.get({ bridgeId: bridge.id });
  out({ kind: 'rest', op: 'getBridge', id: got.id, channels: got.channels });

  const aliceEnd = once(alice, 'StasisEnd');
  await alice.hangup();
  await aliceEnd;
  out({ kind: 'rest', op: 'hangup', channel: alice.id });

  const bobEnd = once(bob, 'StasisEnd');
  await bob.hangup();
  await bobEnd;
  out({ kind: 'rest', op: 'hangup', channel: bob.id });

  await bridge.destroy();
  await destroyed;
  try {
    await client.bridges.get({ bridgeId: bridge.id });
    out({ kind: 'rest', op: 'getDestroyed', found: true });
  } catch (err) {
    out({ kind: 'rest', op: 'getDestroyed', found: false, message: err.message });
  }

  client.stop();
  out({ kind: 'done' });
  process.exit(0);
}

main().catch(fail);
