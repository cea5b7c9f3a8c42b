// Homeward's enhancements; every page works without them.
import { initAll } from '/assets/vendor/govuk-frontend.min.js'

initAll()

// Warn before the session ends (WCAG 2.2.1), so nobody loses a form to a silent expiry: a half-written
// referral is kept as a draft on the server either way.
const meta = document.querySelector('meta[name="homeward-session-expires"]')
if (meta) {
  const expires = Date.parse(meta.content)
  const warnAt = expires - 5 * 60 * 1000
  const show = () => {
    if (document.getElementById('hw-session-warning')) return
    const banner = document.createElement('div')
    banner.id = 'hw-session-warning'
    banner.className = 'govuk-notification-banner'
    banner.setAttribute('role', 'alert')
    banner.innerHTML = '<div class="govuk-notification-banner__header"><h2 class="govuk-notification-banner__title">Important</h2></div>' +
      '<div class="govuk-notification-banner__content"><p class="govuk-notification-banner__heading">You will be signed out in 5 minutes.</p>' +
      '<p class="govuk-body">Your answers are kept. <a class="govuk-notification-banner__link" href="/login?refresh=true">Sign in again to stay signed in</a>.</p></div>'
    document.getElementById('main-content').prepend(banner)
  }
  if (Number.isFinite(warnAt)) setTimeout(show, Math.max(0, warnAt - Date.now()))
}

// Check an NHS number on the server as it is typed, and say how it reads in groups of 3, 3 and 4.
const nhs = document.querySelector('input[data-check]')
if (nhs) {
  const out = document.getElementById('nhs-number-check')
  const csrf = nhs.form.querySelector('input[name="csrf"]').value
  let timer
  nhs.addEventListener('input', () => {
    clearTimeout(timer)
    timer = setTimeout(async () => {
      const body = new URLSearchParams({ 'nhs-number': nhs.value, csrf })
      try {
        const res = await fetch(nhs.dataset.check, { method: 'POST', body, credentials: 'same-origin' })
        const answer = await res.json()
        out.textContent = answer.message
        out.classList.toggle('hw-check--bad', !answer.valid && answer.message !== '')
      } catch {
        out.textContent = ''
      }
    }, 300)
  })
}
