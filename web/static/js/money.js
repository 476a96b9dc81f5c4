// Amounts in yuan as the API sends them (decimal strings): grouped digits and 大写 (财务大写) for confirmations.

const DIGITS = '零壹贰叁肆伍陆柒捌玖';
const SMALL = ['', '拾', '佰', '仟'];
const BIG = ['', '万', '亿', '万亿'];

/** '1000000.00' -> '1,000,000.00' (strings throughout: no floating point on money). */
export function fmtYuan(value) {
  if (value === null || value === undefined || value === '') return '—';
  const [whole, frac = ''] = String(value).split('.');
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${grouped}.${frac.padEnd(2, '0').slice(0, 2)}`;
}

/** A user's input ('1,010,000' or ' 1010000.5 ') as the API's decimal string, or null when it is not an amount. */
export function parseYuan(text) {
  const clean = String(text || '').replace(/[,，\s]/g, '').replace(/元$/, '');
  if (!/^\d{1,15}(\.\d{1,2})?$/.test(clean)) return null;
  const [whole, frac = ''] = clean.split('.');
  return `${whole.replace(/^0+(?=\d)/, '')}.${frac.padEnd(2, '0')}`;
}

/** Compare two decimal strings with two places: -1, 0 or 1. */
export function compareYuan(a, b) {
  const cents = (v) => BigInt(String(v).replace('.', ''));
  const x = cents(parseYuan(a) || '0');
  const y = cents(parseYuan(b) || '0');
  return x < y ? -1 : x > y ? 1 : 0;
}

function wholeToCapital(whole) {
  const digits = whole.replace(/^0+/, '');
  if (!digits) return '';
  const groups = [];
  for (let end = digits.length; end > 0; end -= 4) groups.unshift(digits.slice(Math.max(0, end - 4), end));
  let out = '';
  let zero = false;  // a zero is written once, before the next non-zero digit, and never at the start
  groups.forEach((group, index) => {
    const padded = group.padStart(4, '0');
    let any = false;
    for (let j = 0; j < 4; j += 1) {
      const d = Number(padded[j]);
      if (d === 0) {
        zero = true;
        continue;
      }
      if (zero && out) out += '零';
      zero = false;
      out += DIGITS[d] + SMALL[3 - j];
      any = true;
    }
    if (any) out += BIG[groups.length - 1 - index];
  });
  return out;
}

/** '1000000.00' -> '壹佰万元整'; '1010000.50' -> '壹佰零壹万元伍角'; '0.05' -> '伍分'. */
export function capital(value) {
  const amount = parseYuan(value);
  if (amount === null) return '';
  const [whole, frac] = amount.split('.');
  const yuan = wholeToCapital(whole);
  const jiao = Number(frac[0]);
  const fen = Number(frac[1]);
  if (!jiao && !fen) return `${yuan || '零'}元整`;
  let out = yuan ? `${yuan}元` : '';
  if (jiao) out += `${DIGITS[jiao]}角`;
  else if (yuan) out += '零';
  if (fen) out += `${DIGITS[fen]}分`;
  return out;
}
