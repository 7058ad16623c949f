// The member's page at /app, built on teamgate.js: sign in, see this device and the others, and the moment
// the session ends (an admin's logout, a device session ended, removal), say so in place of the page.
"use strict";

const client = new TeamGate.Client();
const $ = (id) => document.getElementById(id);
let watcher = null;
let phone = "";

// Set once per page load: a check can tell the page changed without a reload.
window.teamgateAppLoadedAt = Date.now();

const WHO_ENDED = {
  admin_logout: "An admin of your team logged you out.",
  session_revoked: "An admin ended this device's session.",
  member_removed: "You were removed from the team.",
  org_logout: "An admin signed everyone out of your team.",
  signed_out: "You signed out of this device.",
  expired: "Your session expired.",
  unknown_session: "This device is no longer signed in.",
};

function show(section) {
  for (const id of ["sign-in", "signed-in", "ended"]) $(id).hidden = id !== section;
  $("connection").hidden = section !== "signed-in";
}

function time(iso) {
  const date = iso ? new Date(iso) : new Date();
  return date.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" });
}

function announce(text) {
  $("announce").textContent = "";
  // A fresh text node, so screen readers announce it even when the words repeat.
  requestAnimationFrame(() => { $("announce").textContent = text; });
}

function setConnection(status) {
  const box = $("connection");
  box.className = "connection " + status;
  $("connection-text").textContent = { live: "Live", connecting: "Connecting…", offline: "Reconnecting…" }[status] || status;
  box.dataset.status = status;
}

function signInError(text) {
  const box = $("sign-in-error");
  box.hidden = !text;
  box.textContent = text || "";
}

function showSignIn(focusPhone) {
  if (watcher) watcher.stop();
  watcher = null;
  $("code-form").hidden = true;
  $("phone-form").hidden = false;
  $("teams").hidden = true;
  signInError("");
  show("sign-in");
  if (focusPhone) $("phone").focus();
}

function showEnded(ended) {
  const who = WHO_ENDED[ended.reason] || "Your session ended.";
  $("ended-title").textContent = ended.reason === "signed_out" ? "Signed out" : "You were logged out";
  $("ended-message").textContent = who + " " + (ended.reason === "signed_out" ? "" : "Sign in again to go on.");
  $("ended-when").textContent = ended.whileOffline || !ended.endedAt
    ? "Noticed at " + time(ended.noticedAt) + (ended.whileOffline ? ", after this device was offline." : ".")
    : "At " + time(ended.endedAt) + ".";
  document.body.dataset.endedReason = ended.reason;
  show("ended");
  announce($("ended-title").textContent + ". " + $("ended-message").textContent);
  $("ended-title").focus();
}

async function showSignedIn() {
  const me = await client.me();
  const session = client.session;
  $("who").textContent = me.member.name + " (" + me.member.phone + ")";
  $("team").textContent = me.member.organization.name + " · " + me.member.role.name;
  const sessions = await client.sessions();
  const current = sessions.find((s) => s.current);
  $("this-device").textContent = current ? current.deviceName : "this browser";
  $("since").textContent = time(current ? current.createdAt : session.signedInAt);
  const list = $("other-devices");
  list.replaceChildren();
  const others = sessions.filter((s) => !s.current);
  if (others.length === 0) {
    const item = document.createElement("li");
    item.textContent = "None: you are signed in on this device only.";
    list.append(item);
  }
  for (const other of others) {
    const item = document.createElement("li");
    const name = document.createElement("strong");
    name.textContent = other.deviceName;
    const meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = "Signed in " + time(other.createdAt) + (other.lastSeenAt ? " · last seen " + time(other.lastSeenAt) : "");
    item.append(name, meta);
    list.append(item);
  }
  show("signed-in");
  setConnection("connecting");
  if (watcher) watcher.stop();
  watcher = client.watch({ onStatus: setConnection, onEnded: showEnded });
}

$("phone-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  phone = $("phone").value.trim();
  if (!/^\+?[0-9 ()-]{7,20}$/.test(phone)) return signInError("Enter your number with its country code, like +91 93000 00000.");
  signInError("");
  try {
    await client.requestCode(phone);
  } catch (error) {
    return signInError(error.message);
  }
  $("code-sent").textContent = "If " + phone + " is on a team, a 6-digit code is on its way to it.";
  $("phone-form").hidden = true;
  $("code-form").hidden = false;
  if (!$("device").value) $("device").value = defaultDeviceName();
  $("code").focus();
});

$("code-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const chosen = document.querySelector("input[name=team]:checked");
  try {
    await client.signIn({ phoneNumber: phone, code: $("code").value.trim(), deviceName: $("device").value.trim(), organizationId: chosen ? chosen.value : undefined });
  } catch (error) {
    if (error.status === 409 && Array.isArray(error.body.organizations)) return chooseTeam(error.body.organizations);
    if (error.status === 423 && error.body.lockedUntil) {
      return signInError("Your team's admin has locked your account until " + time(error.body.lockedUntil) + ".");
    }
    signInError(error.message);
    $("code").focus();
    return;
  }
  $("code").value = "";
  await showSignedIn();
  $("signed-in-title").setAttribute("tabindex", "-1");
  $("signed-in-title").focus();
});

function chooseTeam(organizations) {
  const choices = $("team-choices");
  choices.replaceChildren();
  organizations.forEach((organization, index) => {
    const label = document.createElement("label");
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "team";
    input.value = organization.id;
    input.checked = index === 0;
    label.append(input, document.createTextNode(organization.name));
    choices.append(label);
  });
  $("teams").hidden = false;
  signInError("");
  choices.querySelector("input").focus();
}

$("other-number").addEventListener("click", () => showSignIn(true));
$("sign-in-again").addEventListener("click", () => showSignIn(true));
$("sign-out").addEventListener("click", async () => {
  if (watcher) watcher.stop();
  watcher = null;
  try {
    await client.signOut();
  } catch (_) {
    // Already ended on the server: either way this device is signed out.
  }
  showEnded({ reason: "signed_out", endedAt: new Date().toISOString() });
});

function defaultDeviceName() {
  const agent = navigator.userAgent;
  const system = /Android/.test(agent) ? "Android" : /iPhone|iPad/.test(agent) ? "iPhone" : /Mac OS X/.test(agent) ? "Mac" : /Windows/.test(agent) ? "Windows" : /Linux/.test(agent) ? "Linux" : "";
  const browser = /Edg\//.test(agent) ? "Edge" : /Chrome\//.test(agent) ? "Chrome" : /Firefox\//.test(agent) ? "Firefox" : /Safari\//.test(agent) ? "Safari" : "Browser";
  return system ? browser + " on " + system : browser;
}

(async function start() {
  if (!client.session) return showSignIn(false);
  try {
    await showSignedIn();
  } catch (error) {
    if (error.status === 401) return showEnded({ reason: error.reason, whileOffline: true, noticedAt: new Date().toISOString() });
    showSignIn(false);
    signInError("TeamGate could not be reached: " + error.message);
  }
})();
