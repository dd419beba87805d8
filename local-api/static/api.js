// Shared by the demo pages: a JSON POST to the reset API that never throws on a non-JSON
// answer, and the capitalisation of the API's field messages. Loaded before each page script.
'use strict';

window.resetApi = Object.freeze({
  // The API's field messages read "must be ..."; shown alone they start with a capital.
  sentence: function (message) {
    return message.charAt(0).toUpperCase() + message.slice(1);
  },

  postJson: async function (path, body) {
    const response = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
      credentials: 'same-origin',
      referrerPolicy: 'no-referrer',
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_) {
      data = null;
    }
    return { status: response.status, data: data || {} };
  },
});
