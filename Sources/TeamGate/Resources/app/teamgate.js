/*
 * teamgate.js: TeamGate's client for a team inbox's own app. No dependencies; served at /sdk/teamgate.js and
 * usable as it is (a <script> gives window.TeamGate) or bundled (CommonJS and ES module bundlers alike).
 *
 *   const teamgate = new TeamGate.Client({ baseURL: "https://teamgate.example" });
 *   await teamgate.requestCode("+919300000001");                 // 202 whoever the number is
 *   await teamgate.signIn({ phoneNumber, code, deviceName });    // throws TeamGate.Error; 409 lists organizations
 *   const watcher = teamgate.watch({
 *     onEnded(ended) { showSignedOut(ended.reason, ended.message, ended.endedAt) },   // once, then it stops
 *     onStatus(status) { },                                      // "connecting" | "live" | "offline"
 *   });
 *
 * The watcher holds GET /me/events open. On `session.ended` it acknowledges the event (so the admin's revocation
 * shows the device confirmed), calls onEnded and forgets the token. When the socket drops (network, server restart)
 * it reconnects with backoff (0.5 s doubling to 30 s, with jitter, and at once when the browser comes back online),
 * and every time it connects it checks GET /me first: a logout made while the device was offline is reported too.
 */
(function (root, factory) {
  const TeamGate = factory();
  if (typeof module === "object" && module.exports) module.exports = TeamGate;
  else root.TeamGate = TeamGate;
})(typeof self !== "undefined" ? self : this, function () {
  "use strict";

  /** An answer other than 2xx: `status`, `body` (TeamGate's JSON error: message, reason, …). */
  class TeamGateError extends Error {
    constructor(status, body) {
      const message = body && body.message ? (Array.isArray(body.message) ? body.message.join("; ") : body.message) : "HTTP " + status;
      super(message);
      this.name = "TeamGateError";
      this.status = status;
      this.body = body || {};
      this.reason = this.body.reason || null;
    }
  }

  const REASONS = {
    admin_logout: "Your session was ended by an admin of your team. Sign in again.",
    session_revoked: "This device's session was ended by an admin. Sign in again.",
    member_removed: "You are no longer a member of this team.",
    org_logout: "An admin signed everyone out of your team. Sign in again.",
    signed_out: "You signed out of this device.",
    expired: "Your session expired. Sign in again.",
    unknown_session: "This device is not signed in.",
  };

  class Client {
    /**
     * options.baseURL: TeamGate's address ("" for the same origin). options.storage: where the session token is
     * kept (localStorage by default in a browser; any { getItem, setItem, removeItem }, or null to keep it in memory).
     * options.fetch / options.WebSocket: for environments without the browser's.
     */
    constructor(options) {
      options = options || {};
      this.baseURL = (options.baseURL || "").replace(/\/$/, "");
      this.storage = options.storage !== undefined ? options.storage : typeof localStorage !== "undefined" ? localStorage : null;
      this.storageKey = options.storageKey || "teamgate.session";
      this.fetch = options.fetch || (typeof fetch !== "undefined" ? fetch.bind(globalThis) : null);
      this.WebSocket = options.WebSocket || (typeof WebSocket !== "undefined" ? WebSocket : null);
      this.memory = null;
    }

    /** The stored session: { token, sessionId, member } or null. */
    get session() {
      if (this.memory) return this.memory;
      if (!this.storage) return null;
      try {
        return JSON.parse(this.storage.getItem(this.storageKey) || "null");
      } catch (_) {
        return null;
      }
    }

    set session(value) {
      this.memory = value;
      if (!this.storage) return;
      if (value) this.storage.setItem(this.storageKey, JSON.stringify(value));
      else this.storage.removeItem(this.storageKey);
    }

    async request(method, path, body, token) {
      const headers = { Accept: "application/json" };
      if (body !== undefined) headers["Content-Type"] = "application/json";
      if (token) headers.Authorization = "Bearer " + token;
      const response = await this.fetch(this.baseURL + path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      let parsed = null;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch (_) {
        parsed = { message: text };
      }
      if (!response.ok) throw new TeamGateError(response.status, parsed);
      return parsed;
    }

    /** Asks for a sign-in code by SMS/WhatsApp. Resolves the same for any number (TeamGate does not say who is a member). */
    requestCode(phoneNumber) {
      return this.request("POST", "/auth/otp", { phoneNumber });
    }

    /**
     * Exchanges the code for a session on this device and stores it. A number on several teams gets a
     * TeamGateError with status 409 whose body.organizations lists them: call again with organizationId.
     * A locked member gets 423 with body.lockedUntil.
     */
    async signIn({ phoneNumber, code, deviceName, organizationId }) {
      const body = { phoneNumber, code, deviceName: deviceName || "Browser" };
      if (organizationId) body.organizationId = organizationId;
      const signedIn = await this.request("POST", "/auth/login", body);
      this.session = { token: signedIn.token, sessionId: signedIn.sessionId, member: signedIn.member, signedInAt: new Date().toISOString() };
      return signedIn;
    }

    /** GET /me: who is signed in here. Throws TeamGateError 401 (with .reason) when the session has ended. */
    me() {
      return this.request("GET", "/me", undefined, this.token());
    }

    /** GET /me/sessions: this member's live sessions, this device's first (current: true). */
    async sessions() {
      return (await this.request("GET", "/me/sessions", undefined, this.token())).data;
    }

    /** Signs this device out and forgets the token. */
    async signOut() {
      const token = this.token();
      this.session = null;
      await this.request("POST", "/auth/logout", undefined, token);
    }

    token() {
      const session = this.session;
      if (!session) throw new TeamGateError(401, { message: REASONS.unknown_session, reason: "unknown_session" });
      return session.token;
    }

    /** Follows this device's session until it ends; returns { stop() }. See the top of this file. */
    watch(handlers) {
      return new Watcher(this, handlers || {});
    }
  }

  class Watcher {
    constructor(client, handlers) {
      this.client = client;
      this.handlers = handlers;
      this.stopped = false;
      this.attempt = 0;
      this.socket = null;
      this.timer = null;
      this.onOnline = () => {
        if (!this.socket && !this.stopped) this.connectNow();
      };
      if (typeof addEventListener === "function") addEventListener("online", this.onOnline);
      this.connect();
    }

    status(value) {
      if (this.handlers.onStatus) this.handlers.onStatus(value);
    }

    stop() {
      this.stopped = true;
      clearTimeout(this.timer);
      if (typeof removeEventListener === "function") removeEventListener("online", this.onOnline);
      if (this.socket) this.socket.close(1000);
      this.socket = null;
    }

    /** Calls onEnded once, forgets the token, and stops. */
    ended(event) {
      if (this.stopped) return;
      this.client.session = null;
      this.stop();
      const reason = event.reason || "unknown_session";
      if (this.handlers.onEnded) {
        this.handlers.onEnded({
          reason,
          message: event.message || REASONS[reason] || "Your session has ended. Sign in again.",
          endedAt: event.endedAt || null,
          noticedAt: new Date().toISOString(),
          revocationId: event.revocationId || null,
          whileOffline: !!event.whileOffline,
        });
      }
    }

    connectNow() {
      clearTimeout(this.timer);
      this.attempt = 0;
      this.connect();
    }

    async connect() {
      if (this.stopped) return;
      this.status("connecting");
      let token;
      try {
        token = this.client.token();
        // A logout made while this device could not hear it (offline, server restarting) is found here.
        await this.client.me();
      } catch (error) {
        if (error instanceof TeamGateError && error.status === 401) {
          return this.ended({ reason: error.reason, message: error.body.message, whileOffline: this.attempt > 0 || this.wasLive });
        }
        return this.retry();
      }
      const url = new URL(this.client.baseURL + "/me/events", typeof location !== "undefined" ? location.href : undefined);
      url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
      // The token goes as a subprotocol, a header: in the URL it would be written to every proxy's access log.
      const socket = new this.client.WebSocket(url.toString(), ["teamgate.v1", "teamgate.token." + token]);
      this.socket = socket;
      socket.onmessage = (message) => {
        let event;
        try {
          event = JSON.parse(message.data);
        } catch (_) {
          return;
        }
        if (event.type === "session.active") {
          this.attempt = 0;
          this.wasLive = true;
          this.status("live");
          if (this.handlers.onActive) this.handlers.onActive(event);
        } else if (event.type === "session.ended") {
          if (event.revocationId) socket.send(JSON.stringify({ type: "ack", revocationId: event.revocationId }));
          this.ended(event);
        }
        // server.going_away and socket.replaced: the close that follows reconnects.
      };
      socket.onclose = () => {
        if (this.socket === socket) this.socket = null;
        if (!this.stopped) this.retry();
      };
    }

    retry() {
      if (this.stopped) return;
      this.status("offline");
      const base = Math.min(30000, 500 * Math.pow(2, this.attempt));
      this.attempt += 1;
      this.timer = setTimeout(() => this.connect(), base / 2 + Math.random() * (base / 2));
    }
  }

  return { Client, Error: TeamGateError, REASONS };
});
