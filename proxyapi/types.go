package proxyapi

// Service is one entry of GET /config?type=json. Only the fields the provisioner reads are kept;
// notably Users (clear-text passwords) is never decoded.
type Service struct {
	ServiceName       string
	AclName           string
	ServiceDomainAlgo string
	ServiceDest       []ServiceDest
}

// ServiceDest is one destination of a service.
type ServiceDest struct {
	ServiceDomain      []string
	ServicePath        []string
	RedirectFromDomain []string
	ReqMode            string
	Port               string
	HttpsOnly          bool
	Index              int
}

// Cert is one entry of GET /certs. ProxyServiceName is really the file name under CertsDir.
type Cert struct {
	ProxyServiceName string
	CertsDir         string
	CertContent      string
}

// response is DFP's common reply envelope.
type response struct {
	Status  string
	Message string
	Certs   []Cert
}
