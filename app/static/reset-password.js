// The reset page: posts the token from the link and the new password to the confirm
// route, and says what happened. Served by the app (no inline script, so the page works
// under a CSP of script-src 'self').
"use strict";

const MIN_BYTES = 8;
const MAX_BYTES = 72;

function utf8Bytes(text) {
  return new TextEncoder().encode(text.normalize("NFKC")).length;
}

function say(text, kind) {
  const message = document.getElementById("message");
  message.textContent = text;
  message.className = kind;
}

function tokenFromLink() {
  const token = new URLSearchParams(window.location.search).get("token");
  // Keep the token out of the browser's history and of anything the page links to.
  window.history.replaceState(null, "", window.location.pathname);
  return token;
}

function passwordProblem(password) {
  const size = utf8Bytes(password);
  if (size < MIN_BYTES) {
    return "The password is too short: it needs at least 8 characters.";
  }
  if (size > MAX_BYTES) {
    return "The password is too long: at most 72 bytes.";
  }
  return null;
}

function explainRefusal(status, body) {
  if (status === 400) {
    return "This reset link is invalid or has expired (or was already used). Ask for a new one.";
  }
  if (status === 422 && body && Array.isArray(body.detail)) {
    const problem = body.detail.find((error) => (error.loc || []).includes("new_password"));
    if (problem) {
      return "The password was refused: " + problem.msg + ".";
    }
    return "This reset link is malformed. Ask for a new one.";
  }
  if (status === 429 || status === 503) {
    return "The server is busy. Please try again in a minute.";
  }
  return "Something went wrong (HTTP " + status + "). Please try again.";
}

async function confirmReset(token, password) {
  const response = await fetch("auth/password-reset/confirm", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: token, new_password: password }),
  });
  if (response.status === 204) {
    return null;
  }
  let body = null;
  try {
    body = await response.json();
  } catch (error) {
    body = null;
  }
  return explainRefusal(response.status, body);
}

function start() {
  const form = document.getElementById("reset-form");
  const button = document.getElementById("submit");
  const token = tokenFromLink();
  if (!token) {
    form.hidden = true;
    say("This page needs the link from the reset mail: the link has no token.", "error");
    return;
  }
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const password = document.getElementById("new-password").value;
    const problem = passwordProblem(password);
    if (problem) {
      say(problem, "error");
      return;
    }
    button.disabled = true;
    say("Setting the new password...", "");
    let refusal;
    try {
      refusal = await confirmReset(token, password);
    } catch (error) {
      refusal = "The server could not be reached. Check the connection and try again.";
    }
    button.disabled = false;
    if (refusal) {
      say(refusal, "error");
      return;
    }
    form.hidden = true;
    say("Your password has been changed. You can now log in with it.", "success");
  });
}

document.addEventListener("DOMContentLoaded", start);
