module hotplane.dev/modules/edge-gateway

go 1.19
