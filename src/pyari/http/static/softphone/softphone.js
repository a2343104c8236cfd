/*
 * pyari's WebRTC softphone: JsSIP (vendor/jssip.min.js) over SIP on this server's /ws.
 *
 * The form's values can come from the query string: ?user=&password=&number=&server=
 * (server: the ws:// or wss:// URL of /ws, by default this page's own server), and
 * ?autocall=1 calls as soon as it is registered. The page registers when it opens.
 *
 * What it does is kept in window.softphone for people and tests alike:
 *   state        idle | calling | ringing | incoming | in call | ended | failed
 *   registration not registered | registering | registered | failed: <cause>
 *   level        RMS of the received audio, 0..1 (about ten times a second)
 *   lastFrequency  the strongest frequency of the received audio in Hz (when not silent)
 *   error        the last failure's cause
 *   log          what happened, in order
 */
(function () {
  "use strict";

  const $ = (id) => document.getElementById(id);
  const params = new URLSearchParams(window.location.search);
  const softphone = {
    state: "idle",
    registration: "not registered",
    level: 0,
    lastFrequency: null,
    error: "",
    log: [],
    ua: null,
    session: null,
  };
  window.softphone = softphone;

  function note(what) {
    softphone.log.push(`${new Date().toISOString()} ${what}`);
  }

  function defaultServer() {
    const scheme = window.location.protocol === "https:" ? "wss" : "ws";
    // /<prefix>/static/softphone/... -> /<prefix>/ws
    const at = window.location.pathname.indexOf("/static/");
    const prefix = at > 0 ? window.location.pathname.slice(0, at) : "";
    return `${scheme}://${window.location.host}${prefix}/ws`;
  }

  for (const name of ["user", "password", "number", "server"]) {
    const value = params.get(name) ?? (name === "number" ? params.get("call") : null);
    if (value !== null) {
      $(name).value = value;
    }
  }
  if (!$("server").value) {
    $("server").value = defaultServer();
  }

  function setState(state) {
    softphone.state = state;
    $("state").textContent = state;
    const busy = ["calling", "ringing", "incoming", "in call"].includes(state);
    $("call").disabled = softphone.registration !== "registered" || (busy && state !== "incoming");
    $("call").textContent = state === "incoming" ? "Answer" : "Call";
    $("hangup").disabled = !busy;
    note(`call: ${state}`);
  }

  function setRegistration(text) {
    softphone.registration = text;
    $("registration").textContent = text;
    setState(softphone.state);
  }

  function fail(cause) {
    softphone.error = String(cause || "unknown");
    $("error").textContent = softphone.error;
    note(`error: ${softphone.error}`);
  }

  // -- received audio: level and strongest frequency (WebAudio AnalyserNode) --------------

  let meterTimer = null;
  let audioContext = null;

  function context() {
    if (audioContext === null) {
      audioContext = new AudioContext();
    }
    if (audioContext.state === "suspended") {
      audioContext.resume();
    }
    return audioContext;
  }

  function listen(stream) {
    $("remote").srcObject = stream; // Chrome feeds WebAudio only when it also plays
    const ctx = context();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0;
    ctx.createMediaStreamSource(stream).connect(analyser);
    const samples = new Float32Array(analyser.fftSize);
    const spectrum = new Float32Array(analyser.frequencyBinCount);
    clearInterval(meterTimer);
    meterTimer = setInterval(() => {
      analyser.getFloatTimeDomainData(samples);
      let sum = 0;
      for (const s of samples) sum += s * s;
      const level = Math.sqrt(sum / samples.length);
      softphone.level = level;
      $("level").value = Math.min(1, level * 4);
      if (level < 0.003) {
        return; // silence: keep the last frequency heard
      }
      analyser.getFloatFrequencyData(spectrum);
      let peak = 1;
      for (let i = 2; i < spectrum.length - 1; i++) {
        if (spectrum[i] > spectrum[peak]) peak = i;
      }
      // parabolic interpolation between the neighbouring bins
      const a = spectrum[peak - 1], b = spectrum[peak], c = spectrum[peak + 1];
      const shift = a - 2 * b + c === 0 ? 0 : (0.5 * (a - c)) / (a - 2 * b + c);
      const hz = ((peak + shift) * ctx.sampleRate) / analyser.fftSize;
      softphone.lastFrequency = Math.round(hz);
      $("frequency").textContent = `${softphone.lastFrequency} Hz`;
    }, 100);
  }

  function stopListening() {
    clearInterval(meterTimer);
    meterTimer = null;
    softphone.level = 0;
    $("level").value = 0;
  }

  // -- SIP ---------------------------------------------------------------------------------

  const callOptions = {
    mediaConstraints: { audio: true, video: false },
    pcConfig: { iceServers: [] }, // no STUN: the browser offers its own addresses only
    rtcOfferConstraints: { offerToReceiveAudio: true, offerToReceiveVideo: false },
  };

  function watch(session) {
    softphone.session = session;
    session.on("peerconnection", (e) => {
      e.peerconnection.addEventListener("track", (t) => {
        listen(t.streams && t.streams[0] ? t.streams[0] : new MediaStream([t.track]));
      });
    });
    session.on("progress", () => setState(session.direction === "outgoing" ? "ringing" : "incoming"));
    session.on("accepted", () => setState("in call"));
    session.on("confirmed", () => setState("in call"));
    session.on("ended", (e) => {
      note(`ended: ${e.cause}`);
      stopListening();
      softphone.session = null;
      setState("ended");
    });
    session.on("failed", (e) => {
      fail(e.cause);
      stopListening();
      softphone.session = null;
      setState("failed");
    });
    // an outgoing session made by ua.call already has its connection
    if (session.connection) {
      session.connection.addEventListener("track", (t) => {
        listen(t.streams && t.streams[0] ? t.streams[0] : new MediaStream([t.track]));
      });
    }
  }

  function register() {
    if (softphone.ua) {
      softphone.ua.stop();
    }
    if (typeof JsSIP === "undefined") {
      fail("JsSIP did not load (vendor/jssip.min.js)");
      return;
    }
    JsSIP.debug.disable("JsSIP:*");
    const user = $("user").value.trim();
    const ua = new JsSIP.UA({
      sockets: [new JsSIP.WebSocketInterface($("server").value.trim())],
      uri: `sip:${user}@${window.location.hostname || "127.0.0.1"}`,
      authorization_user: user,
      password: $("password").value,
      register: true,
      register_expires: 300,
      session_timers: false,
      connection_recovery_min_interval: 2,
      connection_recovery_max_interval: 10,
    });
    softphone.ua = ua;
    setRegistration("registering");
    ua.on("connected", () => note("socket connected"));
    ua.on("disconnected", () => note("socket disconnected"));
    ua.on("registered", () => {
      setRegistration("registered");
      if (params.get("autocall") === "1" && softphone.state === "idle") {
        call();
      }
    });
    ua.on("unregistered", () => setRegistration("not registered"));
    ua.on("registrationFailed", (e) => {
      fail(e.cause);
      setRegistration(`failed: ${e.cause}`);
    });
    ua.on("newRTCSession", (e) => {
      if (e.originator === "remote") {
        watch(e.session);
        setState("incoming");
      }
    });
    ua.start();
  }

  function call() {
    const ua = softphone.ua;
    if (softphone.state === "incoming" && softphone.session) {
      context();
      softphone.session.answer(callOptions);
      return;
    }
    if (!ua || softphone.registration !== "registered") {
      return;
    }
    context(); // created on the click: browsers let audio start on a user gesture
    softphone.error = "";
    $("error").textContent = "";
    setState("calling");
    try {
      watch(ua.call($("number").value.trim(), callOptions));
    } catch (err) {
      fail(err && err.message ? err.message : err);
      setState("failed");
    }
  }

  $("register").addEventListener("click", register);
  $("call").addEventListener("click", call);
  $("hangup").addEventListener("click", () => {
    if (softphone.session) softphone.session.terminate();
  });

  setState("idle");
  register();
})();
