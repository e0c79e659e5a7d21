// Black-Scholes for European index options, quoted like the ticker service quotes them: theta in
// rupees per calendar day, vega in rupees per one volatility point.

// Module-local aliases: global lookups (Math) are slow inside jest's vm sandbox, where the
// simulator also runs in-process for end-to-end tests.
const { exp, sqrt, log, abs, SQRT2, PI } = Math;

export type OptionRight = 'CE' | 'PE';

export interface OptionValuation {
  price: number;
  delta: number;
  gamma: number;
  /** Change in price per calendar day. */
  theta: number;
  /** Change in price per 1 percentage point of volatility. */
  vega: number;
}

const SQRT_2PI = sqrt(2 * PI);

export function normPdf(x: number): number {
  return exp(-0.5 * x * x) / SQRT_2PI;
}

/** Standard normal CDF. */
export function normCdf(x: number): number {
  return 0.5 * erfc(-x / SQRT2);
}

function erfc(x: number): number {
  // Numerical Recipes' erfc (Chebyshev fit), relative error below 1.2e-7 everywhere; ample for
  // prices rounded to 0.05.
  const z = abs(x);
  const t = 1 / (1 + 0.5 * z);
  const r =
    t *
    exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? r : 2 - r;
}

/**
 * @param spot underlying level
 * @param strike strike price
 * @param years time to expiry in years (365-day); must be positive
 * @param rate continuously compounded risk-free rate
 * @param vol annualised volatility
 */
export function blackScholes(
  right: OptionRight,
  spot: number,
  strike: number,
  years: number,
  rate: number,
  vol: number,
): OptionValuation {
  if (!(years > 0) || !(vol > 0) || !(spot > 0) || !(strike > 0)) {
    throw new Error(`blackScholes: invalid input spot=${spot} strike=${strike} years=${years} vol=${vol}`);
  }
  const sqrtT = sqrt(years);
  const d1 = (log(spot / strike) + (rate + 0.5 * vol * vol) * years) / (vol * sqrtT);
  const d2 = d1 - vol * sqrtT;
  const discount = exp(-rate * years);
  const pdf = normPdf(d1);
  const gamma = pdf / (spot * vol * sqrtT);
  const vega = (spot * pdf * sqrtT) / 100;
  const decay = -(spot * pdf * vol) / (2 * sqrtT);
  if (right === 'CE') {
    const nd1 = normCdf(d1);
    const nd2 = normCdf(d2);
    return {
      price: spot * nd1 - strike * discount * nd2,
      delta: nd1,
      gamma,
      theta: (decay - rate * strike * discount * nd2) / 365,
      vega,
    };
  }
  const nmd1 = normCdf(-d1);
  const nmd2 = normCdf(-d2);
  return {
    price: strike * discount * nmd2 - spot * nmd1,
    delta: -nmd1,
    gamma,
    theta: (decay + rate * strike * discount * nmd2) / 365,
    vega,
  };
}
