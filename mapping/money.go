package mapping

import (
	"fmt"
	"strings"

	"github.com/govalues/decimal"
)

// Money is an amount with everything needed to read it right: its currency,
// its VAT rate and whether it was given with VAT (gross) or without (net).
// Net, Gross and Vat are computed once, rounded half-up (away from zero for
// refunds) to the currency's minor unit, and always satisfy Net + Vat = Gross.
//
// Expressions see the fields as amount, currency, vat_rate, basis, net,
// gross and vat, e.g. total.net.
type Money struct {
	Amount   Decimal `expr:"amount"`   // as given, in Basis
	Currency string  `expr:"currency"` // ISO 4217
	VatRate  Decimal `expr:"vat_rate"` // percent, 0–100
	Basis    string  `expr:"basis"`    // "gross" or "net"
	Net      Decimal `expr:"net"`
	Gross    Decimal `expr:"gross"`
	Vat      Decimal `expr:"vat"`
}

var (
	decZero    = decimal.MustNew(0, 0)
	decHundred = decimal.MustNew(100, 0)
)

// NewMoney validates and completes an amount: basis is "gross" or "net",
// currency an ISO 4217 code, vatRate a percentage from 0 to 100.
func NewMoney(amount, vatRate Decimal, basis, currency string) (Money, error) {
	cur := strings.ToUpper(strings.TrimSpace(currency))
	minor, ok := currencyMinor(cur)
	if !ok {
		if currency == "" {
			return Money{}, newValueError("money", amount, "the amount %s has no currency; declare currency on the system or pass one to money()", amount)
		}
		return Money{}, newValueError("currency", currency, "%s is not an ISO 4217 currency code (e.g. CZK, EUR, USD)", quote(currency))
	}
	if vatRate.IsNeg() || vatRate.Cmp(decHundred) > 0 {
		return Money{}, newValueError("range", vatRate, "%s is not a VAT rate (0–100)", vatRate)
	}
	m := Money{Amount: amount, Currency: cur, VatRate: vatRate, Basis: basis}
	factor, err := decHundred.Add(vatRate) // 100 + rate
	if err != nil {
		return Money{}, moneyRange(amount, err)
	}
	switch basis {
	case basisGross:
		if m.Gross, err = roundHalfUp(amount, minor); err != nil {
			return Money{}, moneyRange(amount, err)
		}
		// net = gross × 100 / (100 + rate), from the amount as given so
		// that rounding happens once.
		n100, err := amount.Mul(decHundred)
		if err != nil {
			return Money{}, moneyRange(amount, err)
		}
		if m.Net, err = quoHalfUp(n100, factor, minor); err != nil {
			return Money{}, moneyRange(amount, err)
		}
	case basisNet:
		if m.Net, err = roundHalfUp(amount, minor); err != nil {
			return Money{}, moneyRange(amount, err)
		}
		g, err := amount.Mul(factor)
		if err != nil {
			return Money{}, moneyRange(amount, err)
		}
		if m.Gross, err = quoHalfUp(g, decHundred, minor); err != nil {
			return Money{}, moneyRange(amount, err)
		}
	default:
		return Money{}, newValueError("money", basis, "%s is not a price basis; use \"gross\" or \"net\"", quote(basis))
	}
	if m.Vat, err = m.Gross.Sub(m.Net); err != nil {
		return Money{}, moneyRange(amount, err)
	}
	return m, nil
}

func moneyRange(amount Decimal, err error) error {
	return newValueError("money", amount, "%s is out of range for an amount (%v)", amount, err)
}

// String renders the money for people, e.g. "1210.00 CZK gross (21 % VAT)".
func (m Money) String() string {
	return fmt.Sprintf("%s %s %s (%s %% VAT)", m.Amount, m.Currency, m.Basis, m.VatRate)
}

// In returns the amount on the given basis: m.Net for "net", m.Gross for
// "gross".
func (m Money) In(basis string) Decimal {
	if basis == basisGross {
		return m.Gross
	}
	return m.Net
}

// currencyMinor returns the ISO 4217 minor unit of an upper-case code.
func currencyMinor(code string) (int, bool) {
	n, ok := currencyMinors[code]
	return int(n), ok
}

// currencyMinors indexes currencyTable.
var currencyMinors = func() map[string]int8 {
	m := make(map[string]int8, len(currencyTable)/5)
	for i := 0; i+4 < len(currencyTable); i += 5 {
		m[currencyTable[i:i+3]] = int8(currencyTable[i+3] - '0')
	}
	return m
}()

// currencyTable lists active ISO 4217 currencies that have a minor unit, as
// "CODE<digits>," entries (precious metals, XDR and test codes have none and
// are not money here). It follows ISO 4217 rather than CLDR, whose display
// digits differ (CLDR says IQD 0 and IDR 0; ISO says 3 and 2).
const currencyTable = "" +
	"AED2,AFN2,ALL2,AMD2,ANG2,AOA2,ARS2,AUD2,AWG2,AZN2,BAM2,BBD2,BDT2,BGN2,BHD3," +
	"BIF0,BMD2,BND2,BOB2,BOV2,BRL2,BSD2,BTN2,BWP2,BYN2,BZD2,CAD2,CDF2,CHE2,CHF2," +
	"CHW2,CLF4,CLP0,CNY2,COP2,COU2,CRC2,CUC2,CUP2,CVE2,CZK2,DJF0,DKK2,DOP2,DZD2," +
	"EGP2,ERN2,ETB2,EUR2,FJD2,FKP2,GBP2,GEL2,GHS2,GIP2,GMD2,GNF0,GTQ2,GYD2,HKD2," +
	"HNL2,HTG2,HUF2,IDR2,ILS2,INR2,IQD3,IRR2,ISK0,JMD2,JOD3,JPY0,KES2,KGS2,KHR2," +
	"KMF0,KPW2,KRW0,KWD3,KYD2,KZT2,LAK2,LBP2,LKR2,LRD2,LSL2,LYD3,MAD2,MDL2,MGA2," +
	"MKD2,MMK2,MNT2,MOP2,MRU2,MUR2,MVR2,MWK2,MXN2,MXV2,MYR2,MZN2,NAD2,NGN2,NIO2," +
	"NOK2,NPR2,NZD2,OMR3,PAB2,PEN2,PGK2,PHP2,PKR2,PLN2,PYG0,QAR2,RON2,RSD2,RUB2," +
	"RWF0,SAR2,SBD2,SCR2,SDG2,SEK2,SGD2,SHP2,SLE2,SLL2,SOS2,SRD2,SSP2,STN2,SVC2," +
	"SYP2,SZL2,THB2,TJS2,TMT2,TND3,TOP2,TRY2,TTD2,TWD2,TZS2,UAH2,UGX0,USD2,USN2," +
	"UYI0,UYU2,UYW4,UZS2,VED2,VES2,VND0,VUV0,WST2,XAF0,XCD2,XCG2,XOF0,XPF0,YER2," +
	"ZAR2,ZMW2,ZWG2,ZWL2,"

// parseCurrency validates a currency code from input: trimmed, upper-cased,
// and known to ISO 4217.
func parseCurrency(v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		if v == nil {
			return "", newValueError("missing", nil, "the currency is missing")
		}
		return "", newValueError("currency", v, "%s is %s, not a currency code", quote(shortValue(v)), typeName(v))
	}
	c := strings.ToUpper(strings.TrimSpace(s))
	if _, ok := currencyMinor(c); !ok {
		return "", newValueError("currency", s, "%s is not an ISO 4217 currency code (e.g. CZK, EUR, USD)", quote(s))
	}
	return c, nil
}
