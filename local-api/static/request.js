// "Forgot your password?": posts the address to /password-reset/request and shows the
// service's reply. The reply is the same whether or not the account exists. When the local API
// names a CAPTCHA provider and site key (data attributes of #captcha), the provider's widget is
// loaded and its token sent as captcha_token (docs/captcha.md).
'use strict';

(function () {
  const form = document.getElementById('request-form');
  const email = document.getElementById('email');
  const emailError = document.getElementById('email-error');
  const submit = document.getElementById('request-submit');
  const status = document.getElementById('status');

  function say(message, kind) {
    status.textContent = message;
    status.className = 'status' + (kind ? ' is-' + kind : '');
  }

  function fieldError(message) {
    emailError.textContent = message ? sentence(message) : '';
    emailError.hidden = !message;
    if (message) {
      email.setAttribute('aria-invalid', 'true');
    } else {
      email.removeAttribute('aria-invalid');
    }
  }

  const { sentence, postJson } = window.resetApi;

  // provider -> [script, widget class, the hidden field the widget fills with its token]
  const WIDGETS = {
    turnstile: ['https://challenges.cloudflare.com/turnstile/v0/api.js', 'cf-turnstile', 'cf-turnstile-response'],
    hcaptcha: ['https://js.hcaptcha.com/1/api.js', 'h-captcha', 'h-captcha-response'],
    recaptcha: ['https://www.google.com/recaptcha/api.js', 'g-recaptcha', 'g-recaptcha-response'],
  };
  const captcha = document.getElementById('captcha');
  const captchaError = document.getElementById('captcha-error');
  const widget = WIDGETS[captcha.dataset.provider];
  if (widget && captcha.dataset.siteKey) {
    const box = document.getElementById('captcha-widget');
    box.className = widget[1];
    box.dataset.sitekey = captcha.dataset.siteKey;
    captcha.hidden = false;
    const script = document.createElement('script');
    script.src = widget[0];
    script.async = true;
    document.head.appendChild(script);
  }

  function captchaToken() {
    if (!widget) return undefined;
    const field = form.querySelector('[name="' + widget[2] + '"]');
    return field && field.value ? field.value : '';
  }

  function showCaptchaError(message) {
    captchaError.textContent = message ? sentence(message) : '';
    captchaError.hidden = !message;
  }

  form.addEventListener('submit', async function (event) {
    event.preventDefault();
    fieldError('');
    showCaptchaError('');
    const address = email.value.trim();
    if (!address) {
      fieldError('Enter your email address.');
      say('Check the email address.', 'error');
      email.focus();
      return;
    }
    submit.disabled = true;
    say('Sending…');
    try {
      const body = { email: address };
      const token = captchaToken();
      if (token) body.captcha_token = token;
      const { status: code, data } = await postJson('/password-reset/request', body);
      if (code === 200) {
        say(data.message || 'If an account exists for this address, a link is on its way.', 'ok');
        return;
      }
      const fields = data.field_errors || {};
      if (fields.email) {
        fieldError(fields.email);
        say('Check the email address.', 'error');
        email.focus();
        return;
      }
      if (fields.captcha_token) {
        showCaptchaError(fields.captcha_token);
        say('Solve the challenge, then send again.', 'error');
        return;
      }
      let message = data.error || 'Something went wrong. Try again.';
      if (code === 429 && data.retry_after) {
        message += ' (about ' + Math.ceil(data.retry_after / 60) + ' min)';
      }
      say(message, 'error');
    } catch (_) {
      say('The service could not be reached. Check your connection and try again.', 'error');
    } finally {
      submit.disabled = false;
    }
  });
})();
