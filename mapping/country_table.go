// The table below was produced once from CLDR (golang.org/x/text/language and
// language/display) and trimmed to ISO 3166-1 plus XK (Kosovo, user-assigned but
// used by the EU and by phone numbering). It is kept as data rather than computed
// at start-up so that the binary does not carry CLDR's display tables.

package mapping

// countryTable lists ISO 3166-1 countries one a line: alpha-2, alpha-3, English name.
// It is embedded as one string rather than a map literal so that it costs one
// allocation-free constant in the binary and is indexed lazily on first use.
const countryTable = `
ADANDAndorra
AEAREUnited Arab Emirates
AFAFGAfghanistan
AGATGAntigua & Barbuda
AIAIAAnguilla
ALALBAlbania
AMARMArmenia
AOAGOAngola
AQATAAntarctica
ARARGArgentina
ASASMAmerican Samoa
ATAUTAustria
AUAUSAustralia
AWABWAruba
AXALAÅland Islands
AZAZEAzerbaijan
BABIHBosnia & Herzegovina
BBBRBBarbados
BDBGDBangladesh
BEBELBelgium
BFBFABurkina Faso
BGBGRBulgaria
BHBHRBahrain
BIBDIBurundi
BJBENBenin
BLBLMSt. Barthélemy
BMBMUBermuda
BNBRNBrunei
BOBOLBolivia
BQBESCaribbean Netherlands
BRBRABrazil
BSBHSBahamas
BTBTNBhutan
BVBVTBouvet Island
BWBWABotswana
BYBLRBelarus
BZBLZBelize
CACANCanada
CCCCKCocos (Keeling) Islands
CDCODCongo - Kinshasa
CFCAFCentral African Republic
CGCOGCongo - Brazzaville
CHCHESwitzerland
CICIVCôte d’Ivoire
CKCOKCook Islands
CLCHLChile
CMCMRCameroon
CNCHNChina
COCOLColombia
CRCRICosta Rica
CUCUBCuba
CVCPVCape Verde
CWCUWCuraçao
CXCXRChristmas Island
CYCYPCyprus
CZCZECzechia
DEDEUGermany
DJDJIDjibouti
DKDNKDenmark
DMDMADominica
DODOMDominican Republic
DZDZAAlgeria
ECECUEcuador
EEESTEstonia
EGEGYEgypt
EHESHWestern Sahara
ERERIEritrea
ESESPSpain
ETETHEthiopia
FIFINFinland
FJFJIFiji
FKFLKFalkland Islands
FMFSMMicronesia
FOFROFaroe Islands
FRFRAFrance
GAGABGabon
GBGBRUnited Kingdom
GDGRDGrenada
GEGEOGeorgia
GFGUFFrench Guiana
GGGGYGuernsey
GHGHAGhana
GIGIBGibraltar
GLGRLGreenland
GMGMBGambia
GNGINGuinea
GPGLPGuadeloupe
GQGNQEquatorial Guinea
GRGRCGreece
GSSGSSouth Georgia & South Sandwich Islands
GTGTMGuatemala
GUGUMGuam
GWGNBGuinea-Bissau
GYGUYGuyana
HKHKGHong Kong SAR China
HMHMDHeard & McDonald Islands
HNHNDHonduras
HRHRVCroatia
HTHTIHaiti
HUHUNHungary
IDIDNIndonesia
IEIRLIreland
ILISRIsrael
IMIMNIsle of Man
ININDIndia
IOIOTBritish Indian Ocean Territory
IQIRQIraq
IRIRNIran
ISISLIceland
ITITAItaly
JEJEYJersey
JMJAMJamaica
JOJORJordan
JPJPNJapan
KEKENKenya
KGKGZKyrgyzstan
KHKHMCambodia
KIKIRKiribati
KMCOMComoros
KNKNASt. Kitts & Nevis
KPPRKNorth Korea
KRKORSouth Korea
KWKWTKuwait
KYCYMCayman Islands
KZKAZKazakhstan
LALAOLaos
LBLBNLebanon
LCLCASt. Lucia
LILIELiechtenstein
LKLKASri Lanka
LRLBRLiberia
LSLSOLesotho
LTLTULithuania
LULUXLuxembourg
LVLVALatvia
LYLBYLibya
MAMARMorocco
MCMCOMonaco
MDMDAMoldova
MEMNEMontenegro
MFMAFSt. Martin
MGMDGMadagascar
MHMHLMarshall Islands
MKMKDMacedonia
MLMLIMali
MMMMRMyanmar (Burma)
MNMNGMongolia
MOMACMacau SAR China
MPMNPNorthern Mariana Islands
MQMTQMartinique
MRMRTMauritania
MSMSRMontserrat
MTMLTMalta
MUMUSMauritius
MVMDVMaldives
MWMWIMalawi
MXMEXMexico
MYMYSMalaysia
MZMOZMozambique
NANAMNamibia
NCNCLNew Caledonia
NENERNiger
NFNFKNorfolk Island
NGNGANigeria
NINICNicaragua
NLNLDNetherlands
NONORNorway
NPNPLNepal
NRNRUNauru
NUNIUNiue
NZNZLNew Zealand
OMOMNOman
PAPANPanama
PEPERPeru
PFPYFFrench Polynesia
PGPNGPapua New Guinea
PHPHLPhilippines
PKPAKPakistan
PLPOLPoland
PMSPMSt. Pierre & Miquelon
PNPCNPitcairn Islands
PRPRIPuerto Rico
PSPSEPalestinian Territories
PTPRTPortugal
PWPLWPalau
PYPRYParaguay
QAQATQatar
REREURéunion
ROROURomania
RSSRBSerbia
RURUSRussia
RWRWARwanda
SASAUSaudi Arabia
SBSLBSolomon Islands
SCSYCSeychelles
SDSDNSudan
SESWESweden
SGSGPSingapore
SHSHNSt. Helena
SISVNSlovenia
SJSJMSvalbard & Jan Mayen
SKSVKSlovakia
SLSLESierra Leone
SMSMRSan Marino
SNSENSenegal
SOSOMSomalia
SRSURSuriname
SSSSDSouth Sudan
STSTPSão Tomé & Príncipe
SVSLVEl Salvador
SXSXMSint Maarten
SYSYRSyria
SZSWZSwaziland
TCTCATurks & Caicos Islands
TDTCDChad
TFATFFrench Southern Territories
TGTGOTogo
THTHAThailand
TJTJKTajikistan
TKTKLTokelau
TLTLSTimor-Leste
TMTKMTurkmenistan
TNTUNTunisia
TOTONTonga
TRTURTurkey
TTTTOTrinidad & Tobago
TVTUVTuvalu
TWTWNTaiwan
TZTZATanzania
UAUKRUkraine
UGUGAUganda
UMUMIU.S. Outlying Islands
USUSAUnited States
UYURYUruguay
UZUZBUzbekistan
VAVATVatican City
VCVCTSt. Vincent & Grenadines
VEVENVenezuela
VGVGBBritish Virgin Islands
VIVIRU.S. Virgin Islands
VNVNMVietnam
VUVUTVanuatu
WFWLFWallis & Futuna
WSWSMSamoa
XKXKKKosovo
YEYEMYemen
YTMYTMayotte
ZAZAFSouth Africa
ZMZMBZambia
ZWZWEZimbabwe
`
