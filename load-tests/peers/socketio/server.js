// Minimal Socket.IO chat-room server: the peer that huddle-load compares Huddle with.
//
// Semantics (kept deliberately as small as Huddle's chat path):
//   client emits "join" <room>        -> server joins the socket to the room and
//                                        emits "welcome" {room, seq} to it
//   client emits "chat" <text>        -> server broadcasts "chat" {text, seq} to the
//                                        whole room, sender included (io.to(room).emit)
// seq is a per-room counter kept by this instance.
//
// Env: PORT (default 3000), HOST (default 127.0.0.1), REDIS_URL (optional: use the
// Redis adapter so several instances form one server).
"use strict";

const http = require("node:http");
const { Server } = require("socket.io");

const PORT = Number(process.env.PORT ?? 3000);
const HOST = process.env.HOST || "127.0.0.1";
const REDIS_URL = process.env.REDIS_URL || "";
const MAX_TEXT = 4096;

const httpServer = http.createServer((req, res) => {
  if (req.url === "/healthz") {
    res.writeHead(200, { "content-type": "text/plain" });
    res.end("ok\n");
    return;
  }
  res.writeHead(404);
  res.end();
});

const io = new Server(httpServer, {
  transports: ["websocket"],
  serveClient: false,
  perMessageDeflate: false,
  maxHttpBufferSize: 64 * 1024,
});

const seqs = new Map(); // room -> last seq

io.on("connection", (socket) => {
  let room = null;
  socket.on("join", (name) => {
    if (room !== null || typeof name !== "string" || name.length === 0 || name.length > 128) {
      socket.emit("error_frame", { code: "bad_join" });
      return;
    }
    room = name;
    socket.join(room);
    socket.emit("welcome", { room, seq: seqs.get(room) || 0 });
  });
  socket.on("chat", (text) => {
    if (room === null) {
      socket.emit("error_frame", { code: "not_joined" });
      return;
    }
    if (typeof text !== "string" || text.length > MAX_TEXT) {
      socket.emit("error_frame", { code: "bad_message" });
      return;
    }
    const seq = (seqs.get(room) || 0) + 1;
    seqs.set(room, seq);
    io.to(room).emit("chat", { text, seq });
  });
});

async function main() {
  if (REDIS_URL) {
    const { createClient } = require("redis");
    const { createAdapter } = require("@socket.io/redis-adapter");
    const pubClient = createClient({ url: REDIS_URL });
    const subClient = pubClient.duplicate();
    pubClient.on("error", (e) => console.error("redis pub error:", e.message));
    subClient.on("error", (e) => console.error("redis sub error:", e.message));
    await Promise.all([pubClient.connect(), subClient.connect()]);
    io.adapter(createAdapter(pubClient, subClient));
  }
  // PORT=0 picks a free port; the line below tells which.
  httpServer.listen(PORT, HOST, 4096, () => {
    const { port } = httpServer.address();
    console.log(
      `socketio peer listening on http://${HOST}:${port} (pid ${process.pid}${REDIS_URL ? ", redis adapter" : ""})`
    );
  });
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    io.close();
    process.exit(0);
  });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
