// The dev phone: every number the stand-in texted or called, as a phone.
// Plain JS, no build step, nothing fetched from elsewhere. Live updates come from
// GET /_standin/phones/events (Server-Sent Events; polling if EventSource is missing);
// actions go to the stand-in's control API, exactly as a test would drive a call.
"use strict";

(() => {
  const API = "/_standin";
  const POLL_MS = 400;
  const KEYS = [["1", ""], ["2", "ABC"], ["3", "DEF"], ["4", "GHI"], ["5", "JKL"], ["6", "MNO"],
                ["7", "PQRS"], ["8", "TUV"], ["9", "WXYZ"], ["*", ""], ["0", "+"], ["#", ""]];
  const KEY_NAMES = { "*": "star", "#": "pound" };
  const DTMF = { 1: [697, 1209], 2: [697, 1336], 3: [697, 1477], 4: [770, 1209], 5: [770, 1336],
                 6: [770, 1477], 7: [852, 1209], 8: [852, 1336], 9: [852, 1477], "*": [941, 1209],
                 0: [941, 1336], "#": [941, 1477] };
  const E164 = /^\+[1-9]\d{1,14}$/;
  const CODE = /(^|\D)(\d{4,10})(?!\d)/;
  const RINGING = new Set(["queued", "ringing"]);
  const STORE = { phones: "standin.phones", hidden: "standin.hidden", sound: "standin.sound" };
  const TITLE = document.title;

  const $ = (selector, root = document) => root.querySelector(selector);

  function load(key, fallback) {
    try { return JSON.parse(localStorage.getItem(key)) ?? fallback; } catch { return fallback; }
  }
  function save(key, value) {
    try { localStorage.setItem(key, JSON.stringify(value)); } catch { /* storage disabled */ }
  }

  const state = {
    local: load(STORE.phones, []), // numbers added by hand, in that order
    hidden: load(STORE.hidden, {}), // number -> its activity when removed (back on new activity)
    server: new Map(), // number -> {messages, calls} from the latest summary
    cards: new Map(), // number -> PhoneCard
    first: true, // the first summary: nothing in it is news
    answeredAt: new Map(), // call sid -> when this page saw it answered
  };

  // -- small helpers ----------------------------------------------------------------------------
  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clock(rfc2822) {
    const date = new Date(rfc2822);
    return Number.isNaN(date.getTime()) ? "" : date.toLocaleTimeString();
  }

  function minutes(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function announce(text) {
    const region = $("#announcer");
    region.textContent = "";
    setTimeout(() => { region.textContent = text; }, 50); // a change, even for the same words
  }

  function last(list) { return list.length ? list[list.length - 1] : undefined; }

  function activity(data) { // changes whenever a number gets a new text or call
    return `${last(data.messages)?.sid ?? ""}|${last(data.calls)?.sid ?? ""}`;
  }

  // -- sound: ring tone, key tones, speech ----------------------------------------------------
  const sound = { on: false, audio: null, ringTimer: null };

  function audio() {
    if (!sound.audio) {
      const Context = window.AudioContext || window.webkitAudioContext;
      if (!Context) return null;
      sound.audio = new Context();
    }
    if (sound.audio.state === "suspended") sound.audio.resume().catch(() => {});
    return sound.audio;
  }

  function tone(frequencies, seconds, volume) {
    const ctx = sound.on && audio();
    if (!ctx) return;
    const start = ctx.currentTime;
    const gain = ctx.createGain();
    gain.gain.setValueAtTime(0, start);
    gain.gain.linearRampToValueAtTime(volume, start + 0.02);
    gain.gain.setValueAtTime(volume, start + seconds - 0.03);
    gain.gain.linearRampToValueAtTime(0, start + seconds);
    gain.connect(ctx.destination);
    for (const frequency of frequencies) {
      const oscillator = ctx.createOscillator();
      oscillator.frequency.value = frequency;
      oscillator.connect(gain);
      oscillator.start(start);
      oscillator.stop(start + seconds);
    }
  }

  function ring(on) {
    if (on && sound.on && !sound.ringTimer) {
      const burst = () => tone([440, 480], 1.5, 0.08);
      burst();
      sound.ringTimer = setInterval(burst, 4000);
    } else if ((!on || !sound.on) && sound.ringTimer) {
      clearInterval(sound.ringTimer);
      sound.ringTimer = null;
    }
  }

  function voiceFor(lang) {
    const voices = window.speechSynthesis.getVoices();
    const wanted = lang.toLowerCase();
    return voices.find((v) => v.lang.toLowerCase() === wanted)
      || voices.find((v) => v.lang.toLowerCase().startsWith(wanted.slice(0, 2)));
  }

  function speak(event) {
    if (!sound.on || !("speechSynthesis" in window) || !event.text) return;
    const lang = event.language || "en-US";
    for (let i = 0; i < Math.min(event.loop || 1, 3); i++) {
      const utterance = new SpeechSynthesisUtterance(event.text);
      utterance.lang = lang;
      const voice = voiceFor(lang);
      if (voice) utterance.voice = voice;
      window.speechSynthesis.speak(utterance);
    }
  }

  function silence() {
    if ("speechSynthesis" in window) window.speechSynthesis.cancel();
  }

  function setSound(on) {
    sound.on = on;
    save(STORE.sound, on);
    const button = $("#sound");
    button.setAttribute("aria-pressed", String(on));
    $(".sound-state", button).textContent = on ? ": on" : ": off";
    if (on) audio(); else silence();
    ring(anyRinging());
  }

  // -- the control API --------------------------------------------------------------------------
  async function act(sid, action, body) {
    const response = await fetch(`${API}/calls/${encodeURIComponent(sid)}/${action}`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body || {}),
    });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.message || `the stand-in answered HTTP ${response.status}`);
    return answer;
  }

  // -- one call ---------------------------------------------------------------------------------
  function outcome(call) {
    switch (call.status) {
      case "busy": return call.ended_by === "callee" ? "You declined the call" : "Busy";
      case "no-answer": return "Missed call: nobody answered";
      case "canceled": return "The caller gave up before you answered";
      case "failed": return "The call failed";
      case "completed":
        if (call.ended_by === "callee") return "You hung up";
        if (call.ended_by === "time_limit") return "The call reached its time limit";
        if (call.ended_by === "standin") return "The stand-in ended the call";
        return call.answered_as === "machine" ? "The caller hung up on your voicemail" : "The caller hung up";
      default: return call.status;
    }
  }

  function eventItem(event, call) {
    switch (event.type) {
      case "say": {
        const item = element("li", "say", event.text);
        if (event.language) item.lang = event.language;
        if ((event.loop || 1) > 1) item.append(element("span", "note", ` (said ${event.loop} times)`));
        return item;
      }
      case "play": return element("li", "note", "♪ The caller plays a recording");
      case "keys":
        return element("li", "keys", event.delivered ? `You pressed ${event.digits}`
          : `You pressed ${event.digits} (the call was not listening for keys)`);
      case "send_digits": return element("li", "note switchboard", `Switchboard dialled: ${event.digits}`);
      case "amd": return element("li", "note", `Answering-machine detection: ${event.answered_by}`);
      case "application_error":
        return element("li", "error", `Application error, the caller heard an apology: ${event.detail}`);
      case "hangup": return element("li", "ended", `Call ended: ${outcome(call)}`);
      default: return null; // pauses, gathers and redirects are silent
    }
  }

  class CallView {
    constructor(card, call) {
      this.sid = call.sid;
      this.call = call;
      this.rendered = 0; // transcript events shown so far
      this.quiet = state.first; // a call already going when the page opened: show, don't speak
      this.says = []; // the <li> of each Say, in order
      this.el = $("#call-template").content.firstElementChild.cloneNode(true);
      this.el.dataset.sid = call.sid;
      const title = $(".call-title", this.el);
      title.id = `call-${call.sid}`;
      this.el.setAttribute("aria-labelledby", title.id);
      const actions = $(".ring-actions", this.el);
      actions.setAttribute("role", "group");
      actions.setAttribute("aria-label", `Incoming call to ${card.number}`);
      $(".transcript", this.el).setAttribute("aria-label", "What the call says");
      $(".answer", this.el).addEventListener("click", () => this.do("answer", { as: "human" }));
      $(".decline", this.el).addEventListener("click", () => this.do("decline"));
      $(".voicemail", this.el).addEventListener("click", () => this.do("answer", { as: "machine" }));
      $(".hangup", this.el).addEventListener("click", () => this.do("hangup"));
      const keypad = $(".keypad", this.el);
      keypad.setAttribute("aria-label", `Keypad of ${card.number}`);
      this.keys = new Map();
      for (const [key, letters] of KEYS) {
        const button = element("button", "key", key);
        button.type = "button";
        button.dataset.key = key;
        button.setAttribute("aria-label", KEY_NAMES[key] ? `${KEY_NAMES[key]} (${key})` : key);
        button.setAttribute("aria-keyshortcuts", key);
        button.append(element("small", "", letters));
        button.addEventListener("click", () => this.press(key));
        keypad.append(button);
        this.keys.set(key, button);
      }
    }

    get active() { return this.call.state === "in-progress"; }

    async do(action, body) {
      this.showError("");
      if (action === "hangup") silence();
      try {
        await act(this.sid, action, body);
        this.el.focus({ preventScroll: true }); // the buttons just pressed go away
      } catch (error) {
        this.showError(`Could not ${action === "answer" ? "answer" : action}: ${error.message}`);
      }
    }

    async press(key) {
      if (!this.active) return;
      const button = this.keys.get(key);
      button.classList.add("pressed");
      setTimeout(() => button.classList.remove("pressed"), 180);
      tone(DTMF[key], 0.15, 0.12);
      this.showError("");
      try {
        const answer = await act(this.sid, "digits", { digits: key });
        if (answer.delivered) silence(); // a key cuts the prompt short, as on a phone
      } catch (error) {
        this.showError(`Key ${key} was not sent: ${error.message}`);
      }
    }

    showError(text) {
      const node = $(".call-error", this.el);
      node.textContent = text;
      node.hidden = !text;
    }

    update(call) {
      this.call = call;
      this.el.dataset.state = call.state;
      if (call.state === "in-progress" && !state.answeredAt.has(call.sid)) {
        state.answeredAt.set(call.sid, Date.now());
      }
      const from = call.from || "an unknown number";
      let title, sub;
      if (RINGING.has(call.state)) {
        title = `Incoming call from ${from}`;
        sub = "Ringing…";
      } else if (call.state === "in-progress") {
        title = `On a call with ${from}`;
        sub = { machine: "Your voicemail answered", fax: "A fax machine answered" }[call.answered_as]
          || "Connected: what the caller says appears below";
      } else {
        title = `Call from ${from}`;
        sub = [outcome(call), call.duration !== null && call.duration !== undefined
          ? minutes(Number(call.duration)) : "", clock(call.date_created)].filter(Boolean).join(" · ");
      }
      $(".call-title", this.el).textContent = title;
      $(".call-sub", this.el).textContent = sub;
      this.tick();

      const transcript = $(".transcript", this.el);
      const ignoredHangup = call.state === "ended" && call.ended_by === "callee";
      for (const event of call.events.slice(this.rendered)) {
        const item = eventItem(event, call);
        if (item) transcript.append(item);
        if (event.type === "say") {
          this.says.push(item);
          if (!this.quiet && call.answered_as === "human" && !ignoredHangup) speak(event);
        }
      }
      this.rendered = call.events.length;
      this.quiet = false;
      // The Say being heard right now (the executor clears `speaking` when it ends).
      const current = call.speaking && call.state === "in-progress" ? last(this.says) : null;
      for (const item of this.says) item.classList.toggle("speaking", item === current);

      const listening = $(".listening", this.el);
      listening.dataset.on = String(Boolean(call.gathering));
      listening.textContent = call.gathering ? "Listening for a key" : "Not listening for keys right now";
      for (const button of this.keys.values()) button.disabled = !this.active;
    }

    tick() {
      const timer = $(".call-timer", this.el);
      const since = state.answeredAt.get(this.sid);
      timer.textContent = this.active && since ? minutes((Date.now() - since) / 1000) : "";
    }
  }

  // -- one phone --------------------------------------------------------------------------------
  function messageItem(message, fresh) {
    const item = element("li", fresh ? "message new" : "message");
    item.dataset.sid = message.sid;
    const meta = element("div", "message-meta");
    meta.append(element("span", "", `From ${message.from || "a Messaging Service"}`),
                element("time", "", clock(message.date_created)),
                element("span", "message-status", message.status));
    const body = element("p", "message-body");
    const text = message.body || "";
    const match = CODE.exec(text);
    item.append(meta, body);
    if (!match) {
      body.textContent = text;
      return item;
    }
    const at = match.index + match[1].length;
    body.append(text.slice(0, at), element("mark", "code", match[2]), text.slice(at + match[2].length));
    const copy = element("button", "link copy", "Copy code");
    copy.type = "button";
    copy.setAttribute("aria-label", `Copy code ${match[2].split("").join(" ")}`);
    copy.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(match[2]);
        copy.textContent = "Copied";
      } catch {
        window.getSelection().selectAllChildren($("mark", body)); // copy it by hand
        copy.textContent = "Selected: press Ctrl+C";
      }
      setTimeout(() => { copy.textContent = "Copy code"; }, 2000);
    });
    item.append(copy);
    return item;
  }

  class PhoneCard {
    constructor(number) {
      this.number = number;
      this.messages = new Map(); // sid -> <li>
      this.calls = new Map(); // sid -> CallView
      this.el = $("#phone-template").content.firstElementChild.cloneNode(true);
      this.el.dataset.number = number;
      const heading = $(".phone-number", this.el);
      heading.textContent = number;
      heading.id = `phone-${number.replace(/\W/g, "")}`;
      this.el.setAttribute("aria-labelledby", heading.id);
      const forget = $(".forget", this.el);
      forget.setAttribute("aria-label", `Remove phone ${number}`);
      forget.addEventListener("click", () => removePhone(number));
      $(".messages", this.el).setAttribute("aria-label", `Texts to ${number}`);
    }

    update(data) {
      this.updateMessages(data.messages);
      this.updateCalls(data.calls);
    }

    updateMessages(messages) {
      const list = $(".messages", this.el);
      for (const message of messages) {
        let item = this.messages.get(message.sid);
        if (!item) {
          item = messageItem(message, !state.first);
          list.prepend(item); // newest first: the latest code is on top
          this.messages.set(message.sid, item);
        }
        $(".message-status", item).textContent = message.status;
      }
      const kept = new Set(messages.map((m) => m.sid));
      for (const [sid, item] of this.messages) {
        if (!kept.has(sid)) { item.remove(); this.messages.delete(sid); }
      }
      $(".inbox-empty", this.el).hidden = messages.length > 0;
      $(".inbox-title", this.el).textContent = messages.length ? `Messages (${messages.length})` : "Messages";
    }

    updateCalls(calls) {
      let ringing = null; // a call that just started ringing
      for (const call of calls) {
        let view = this.calls.get(call.sid);
        if (!view) {
          view = new CallView(this, call);
          this.calls.set(call.sid, view);
          if (RINGING.has(call.state)) {
            announce(`Incoming call to ${this.number} from ${call.from}`);
            ringing = view;
          }
        }
        view.update(call);
      }
      const kept = new Set(calls.map((c) => c.sid));
      for (const [sid, view] of this.calls) {
        if (!kept.has(sid)) { view.el.remove(); this.calls.delete(sid); }
      }
      // The newest call in full view; the ones before it under "Earlier calls", newest first.
      const newest = last(calls) && this.calls.get(last(calls).sid);
      const slot = $(".call-slot", this.el);
      if (newest && slot.firstElementChild !== newest.el) slot.replaceChildren(newest.el);
      const earlier = calls.slice(0, -1).reverse().map((c) => this.calls.get(c.sid).el);
      const list = $(".earlier-list", this.el);
      if (earlier.some((el, i) => list.children[i] !== el)) list.replaceChildren(...earlier);
      const details = $(".earlier-calls", this.el);
      details.hidden = earlier.length === 0;
      $("summary", details).textContent = `Earlier calls (${earlier.length})`;
      this.el.classList.toggle("has-incoming", calls.some((c) => RINGING.has(c.state)));
      if (ringing && !state.first) ringing.el.scrollIntoView({ block: "nearest" }); // bring it into sight
    }

    activeCall() {
      const views = [...this.calls.values()].filter((v) => v.active);
      return views.sort((a, b) => state.answeredAt.get(b.sid) - state.answeredAt.get(a.sid))[0];
    }
  }

  // -- the page ---------------------------------------------------------------------------------
  const EMPTY = { messages: [], calls: [] };

  function visibleNumbers() {
    const numbers = [...state.local];
    for (const [number, data] of state.server) {
      if (numbers.includes(number)) continue;
      if (number in state.hidden) {
        if (state.hidden[number] === activity(data)) continue;
        delete state.hidden[number]; // something new happened on it: back it comes
        save(STORE.hidden, state.hidden);
      }
      numbers.push(number);
    }
    return numbers;
  }

  function anyRinging() {
    for (const data of state.server.values()) {
      if (data.calls.some((c) => RINGING.has(c.state))) return true;
    }
    return false;
  }

  function render() {
    const numbers = visibleNumbers();
    const container = $("#phones");
    for (const number of numbers) {
      let card = state.cards.get(number);
      if (!card) {
        card = new PhoneCard(number);
        state.cards.set(number, card);
        container.append(card.el);
      }
      card.update(state.server.get(number) || EMPTY);
    }
    for (const [number, card] of state.cards) {
      if (!numbers.includes(number)) { card.el.remove(); state.cards.delete(number); }
    }
    $("#no-phones").hidden = numbers.length > 0;
    const ringing = anyRinging();
    ring(ringing);
    document.title = ringing ? `☎ Incoming call · ${TITLE}` : TITLE;
  }

  function apply(summary) {
    state.server = new Map(summary.phones.map((p) => [p.number, p]));
    render();
    state.first = false;
  }

  function removePhone(number) {
    state.local = state.local.filter((n) => n !== number);
    save(STORE.phones, state.local);
    const data = state.server.get(number);
    if (data) {
      state.hidden[number] = activity(data);
      save(STORE.hidden, state.hidden);
    }
    render();
    announce(`Removed phone ${number}`);
    $("#new-number").focus();
  }

  function addPhone(event) {
    event.preventDefault();
    const input = $("#new-number");
    const error = $("#add-error");
    let number = input.value.replace(/[\s().-]/g, "");
    if (number.startsWith("00")) number = `+${number.slice(2)}`;
    if (!E164.test(number)) {
      error.textContent = "Write the number in international format: + then the country code, e.g. +447400123456.";
      error.hidden = false;
      input.setAttribute("aria-invalid", "true");
      input.focus();
      return;
    }
    error.hidden = true;
    input.removeAttribute("aria-invalid");
    input.value = "";
    if (!state.local.includes(number)) state.local.push(number);
    save(STORE.phones, state.local);
    delete state.hidden[number];
    save(STORE.hidden, state.hidden);
    render();
    announce(`Added phone ${number}`);
  }

  function keyboardCall() {
    // The call around the focus if it is answered, else the one answered last.
    const focused = document.activeElement?.closest?.(".phone");
    const card = focused && state.cards.get(focused.dataset.number);
    const inCard = card && card.activeCall();
    if (inCard) return inCard;
    const active = [...state.cards.values()].map((c) => c.activeCall()).filter(Boolean);
    return active.sort((a, b) => state.answeredAt.get(b.sid) - state.answeredAt.get(a.sid))[0];
  }

  function onKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || event.repeat) return;
    if (!/^[0-9*#]$/.test(event.key)) return;
    if (event.target.closest?.("input, textarea, select, [contenteditable]")) return;
    const view = keyboardCall();
    if (!view) return;
    event.preventDefault();
    view.press(event.key);
  }

  function setConnection(which) {
    const node = $("#connection");
    if (node.dataset.state === which) return;
    node.dataset.state = which;
    node.textContent = which === "live" ? "Live" : "Lost the stand-in, reconnecting…";
  }

  function poll() {
    fetch(`${API}/phones`, { cache: "no-store" })
      .then((response) => response.json())
      .then((summary) => { setConnection("live"); apply(summary); })
      .catch(() => setConnection("lost"))
      .finally(() => setTimeout(poll, POLL_MS));
  }

  function connect() {
    if (!("EventSource" in window)) { poll(); return; }
    const source = new EventSource(`${API}/phones/events`);
    source.onopen = () => setConnection("live");
    source.onmessage = (event) => { setConnection("live"); apply(JSON.parse(event.data)); };
    source.onerror = () => {
      setConnection("lost");
      if (source.readyState === EventSource.CLOSED) { // the browser gave up: start over
        setTimeout(connect, 2000);
      }
    };
  }

  function start() {
    $("#add-phone").addEventListener("submit", addPhone);
    $("#sound").addEventListener("click", () => setSound(!sound.on));
    document.addEventListener("keydown", onKey);
    // Browsers start audio only after a gesture: resume it at the first one.
    const wake = () => { if (sound.on) audio(); };
    document.addEventListener("pointerdown", wake);
    document.addEventListener("keydown", wake);
    if ("speechSynthesis" in window) window.speechSynthesis.getVoices(); // loads the voice list
    setSound(Boolean(load(STORE.sound, false)));
    setInterval(() => {
      for (const card of state.cards.values()) for (const view of card.calls.values()) view.tick();
    }, 1000);
    render();
    connect();
  }

  start();
})();
