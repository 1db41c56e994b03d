// The anchor for `opsctl terraform all config`: CDK for Terraform synthesising the same
// large layout (5 core nodes, 30 client autoscaling groups across 6 regions) with the AWS
// provider bindings, as plain JS. Run by scripts/bench-cli after `npm install` here:
//   node main.js OUTDIR   (writes OUTDIR/stacks/{network,core,clients}/cdk.tf.json)
const { App, TerraformStack, S3Backend, TerraformOutput } = require("cdktf");
// Each resource's bindings from its own module (`@cdktf/provider-aws/lib/vpc`), as a
// generated project imports them: loading the package index would load all of them.
const kebab = (name) => name.replace(/[A-Z]/g, (c) => "-" + c.toLowerCase());
const aws = new Proxy({}, { get: (_, name) => require(`@cdktf/provider-aws/lib/${kebab(name)}`) });

const REGIONS = ["eu-central-1", "us-east-2", "us-west-2", "eu-west-1", "ap-southeast-1", "ap-northeast-1"];
const CORE = "eu-central-1";
const CLASSES = ["general", "compute", "memory", "gpu", "batch"];
const azs = (r) => (r === "us-east-2" ? ["a", "b", "c", "d"] : ["a", "b", "c"]).map((z) => r + z);
const cidr = (i) => `10.${i}.0.0/16`;
const tags = (extra) => ({ Cluster: "large", ...extra });

function backend(stack, name) {
  new S3Backend(stack, {
    bucket: "large-ops-state", key: `opsctl/large/${name}/terraform.tfstate`, region: CORE,
    encrypt: true, useLockfile: true,
    kmsKeyId: "arn:aws:kms:eu-central-1:123456789012:key/2f5c8f5e-6b7a-4c1d-9e3f-0a1b2c3d4e5f",
  });
}

function providers(stack) {
  const out = {};
  for (const r of REGIONS) out[r] = new aws.provider.AwsProvider(stack, `aws-${r}`, { region: r, alias: r.replace(/-/g, "_") });
  return out;
}

class Network extends TerraformStack {
  constructor(scope, id) {
    super(scope, id);
    backend(this, "network");
    const p = providers(this);
    this.vpcs = {};
    this.routes = {};
    REGIONS.forEach((r, i) => {
      const provider = p[r];
      const vpc = new aws.vpc.Vpc(this, `vpc-${r}`, { provider, cidrBlock: cidr(i), enableDnsHostnames: true, tags: tags({ Name: `large-${r}` }) });
      this.vpcs[r] = vpc;
      const igw = new aws.internetGateway.InternetGateway(this, `igw-${r}`, { provider, vpcId: vpc.id, tags: tags({}) });
      const pub = new aws.routeTable.RouteTable(this, `public-${r}`, { provider, vpcId: vpc.id, tags: tags({}) });
      this.routes[r] = pub;
      new aws.route.Route(this, `public-default-${r}`, { provider, routeTableId: pub.id, destinationCidrBlock: "0.0.0.0/0", gatewayId: igw.id });
      azs(r).forEach((az, j) => {
        const publicSubnet = new aws.subnet.Subnet(this, `public-${az}`, { provider, vpcId: vpc.id, availabilityZone: az, cidrBlock: `10.${i}.${j}.0/24`, mapPublicIpOnLaunch: true, tags: tags({ Tier: "public" }) });
        const privateSubnet = new aws.subnet.Subnet(this, `private-${az}`, { provider, vpcId: vpc.id, availabilityZone: az, cidrBlock: `10.${i}.${100 + j}.0/24`, tags: tags({ Tier: "private" }) });
        new aws.routeTableAssociation.RouteTableAssociation(this, `public-assoc-${az}`, { provider, subnetId: publicSubnet.id, routeTableId: pub.id });
        const eip = new aws.eip.Eip(this, `nat-eip-${az}`, { provider, domain: "vpc", tags: tags({}) });
        const nat = new aws.natGateway.NatGateway(this, `nat-${az}`, { provider, allocationId: eip.id, subnetId: publicSubnet.id, tags: tags({}), dependsOn: [igw] });
        const priv = new aws.routeTable.RouteTable(this, `private-rt-${az}`, { provider, vpcId: vpc.id, tags: tags({}) });
        new aws.route.Route(this, `private-default-${az}`, { provider, routeTableId: priv.id, destinationCidrBlock: "0.0.0.0/0", natGatewayId: nat.id });
        new aws.routeTableAssociation.RouteTableAssociation(this, `private-assoc-${az}`, { provider, subnetId: privateSubnet.id, routeTableId: priv.id });
      });
      const groups = r === CORE ? ["internal", "ssh", "role_core", "role_monitoring", "ingress"] : ["internal", "ssh", "role_client"];
      for (const g of groups) {
        const sg = new aws.securityGroup.SecurityGroup(this, `sg-${g}-${r}`, { provider, vpcId: vpc.id, name: `large-${g}`, description: g, tags: tags({}) });
        if (g !== "ssh") new aws.vpcSecurityGroupEgressRule.VpcSecurityGroupEgressRule(this, `sg-${g}-${r}-egress`, { provider, securityGroupId: sg.id, ipProtocol: "-1", cidrIpv4: "0.0.0.0/0" });
        // ssh from the admins; internal from every region's VPC; role groups from their own VPC.
        const sources = g === "ssh" ? ["203.0.113.0/24", "198.51.100.17/32", "192.0.2.0/28"] : g === "internal" ? REGIONS.map((_, k) => cidr(k)) : [cidr(i)];
        sources.forEach((source, k) => new aws.vpcSecurityGroupIngressRule.VpcSecurityGroupIngressRule(this, `sg-${g}-${r}-in-${k}`, { provider, securityGroupId: sg.id, ipProtocol: g === "ssh" ? "tcp" : "-1", fromPort: g === "ssh" ? 22 : undefined, toPort: g === "ssh" ? 22 : undefined, cidrIpv4: source }));
      }
      new TerraformOutput(this, `vpc_id_${r}`, { value: vpc.id });
    });
    for (const r of REGIONS.filter((r) => r !== CORE)) {
      const peering = new aws.vpcPeeringConnection.VpcPeeringConnection(this, `peer-${r}`, { provider: p[CORE], vpcId: this.vpcs[CORE].id, peerVpcId: this.vpcs[r].id, peerRegion: r, tags: tags({}) });
      new aws.vpcPeeringConnectionAccepter.VpcPeeringConnectionAccepterA(this, `accept-${r}`, { provider: p[r], vpcPeeringConnectionId: peering.id, autoAccept: true });
      new aws.route.Route(this, `peer-route-${r}`, { provider: p[CORE], routeTableId: this.routes[CORE].id, destinationCidrBlock: cidr(REGIONS.indexOf(r)), vpcPeeringConnectionId: peering.id });
      new aws.route.Route(this, `peer-route-back-${r}`, { provider: p[r], routeTableId: this.routes[r].id, destinationCidrBlock: cidr(0), vpcPeeringConnectionId: peering.id });
    }
  }
}

class Core extends TerraformStack {
  constructor(scope, id) {
    super(scope, id);
    backend(this, "core");
    const p = providers(this);
    const provider = p[CORE];
    const zone = new aws.dataAwsRoute53Zone.DataAwsRoute53Zone(this, "zone", { provider, name: "large.example.org" });
    const role = new aws.iamRole.IamRole(this, "core-role", { provider, name: "large-core", assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }) });
    new aws.iamRolePolicy.IamRolePolicy(this, "core-policy", { provider, role: role.name, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["kms:Decrypt", "ec2:DescribeInstances"], Resource: "*" }] }) });
    const profile = new aws.iamInstanceProfile.IamInstanceProfile(this, "core-profile", { provider, name: "large-core", role: role.name });
    const nodes = ["core-1", "core-2", "core-3", "core-4", "core-5", "monitoring"];
    nodes.forEach((name, i) => {
      const instance = new aws.instance.Instance(this, name, { provider, ami: "ami-001b2c3d4e5f60718", instanceType: name === "monitoring" ? "m5.xlarge" : "m5.large", subnetId: "${data.terraform_remote_state.network.outputs.public_subnet_ids[\"eu-central-1\"][" + (i % 3) + "]}", iamInstanceProfile: profile.name, privateIp: `10.0.${i % 3}.${10 + i}`, ebsOptimized: true, rootBlockDevice: { volumeSize: 50, volumeType: "gp3", encrypted: true }, metadataOptions: { httpTokens: "required" }, tags: tags({ Name: name, Role: name.startsWith("core") ? "core" : "monitoring" }) });
      const eip = new aws.eip.Eip(this, `${name}-eip`, { provider, domain: "vpc", instance: instance.id, tags: tags({ Name: name }) });
      if (i === 0) this.firstIp = eip.publicIp;
      new aws.route53Record.Route53Record(this, `${name}-record`, { provider, zoneId: zone.zoneId, name: `${name}.large.example.org`, type: "A", ttl: 300, records: [eip.publicIp] });
    });
    for (const name of ["nomad", "consul", "vault", "*"]) {
      new aws.route53Record.Route53Record(this, `record-${name === "*" ? "wildcard" : name}`, { provider, zoneId: zone.zoneId, name: `${name}.large.example.org`, type: "A", ttl: 300, records: [this.firstIp] });
    }
    const cert = new aws.acmCertificate.AcmCertificate(this, "cert", { provider, domainName: "large.example.org", subjectAlternativeNames: ["*.large.example.org"], validationMethod: "DNS" });
    const validation = new aws.route53Record.Route53Record(this, "cert-validation", { provider, zoneId: zone.zoneId, name: cert.domainValidationOptions.get(0).resourceRecordName, type: cert.domainValidationOptions.get(0).resourceRecordType, records: [cert.domainValidationOptions.get(0).resourceRecordValue], ttl: 60 });
    new aws.acmCertificateValidation.AcmCertificateValidation(this, "cert-valid", { provider, certificateArn: cert.arn, validationRecordFqdns: [validation.fqdn] });
    const admins = new aws.iamGroup.IamGroup(this, "admins", { provider, name: "large-admins" });
    new aws.iamGroupPolicy.IamGroupPolicy(this, "admins-policy", { provider, group: admins.name, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: "kms:*", Resource: "*" }] }) });
  }
}

class Clients extends TerraformStack {
  constructor(scope, id) {
    super(scope, id);
    backend(this, "clients");
    const p = providers(this);
    const role = new aws.iamRole.IamRole(this, "client-role", { provider: p[CORE], name: "large-client", assumeRolePolicy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }] }) });
    new aws.iamRolePolicy.IamRolePolicy(this, "client-policy", { provider: p[CORE], role: role.name, policy: JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: ["ec2:DescribeInstances"], Resource: "*" }] }) });
    const profile = new aws.iamInstanceProfile.IamInstanceProfile(this, "client-profile", { provider: p[CORE], name: "large-client", role: role.name });
    REGIONS.forEach((r, i) => {
      for (const cls of CLASSES) {
        const name = `client-${r}-${cls}`;
        const userData = Buffer.from(JSON.stringify({ client: { enabled: true, node_class: cls, meta: { region: r } }, datacenter: r })).toString("base64");
        const template = new aws.launchTemplate.LaunchTemplate(this, `${name}-template`, { provider: p[r], namePrefix: `${name}-`, imageId: `ami-0${i}1b2c3d4e5f60718`, instanceType: "m5.xlarge", userData, iamInstanceProfile: { name: profile.name }, metadataOptions: { httpTokens: "required" }, blockDeviceMappings: [{ deviceName: "/dev/xvda", ebs: { volumeSize: 50, volumeType: "gp3", encrypted: "true" } }], tagSpecifications: [{ resourceType: "instance", tags: tags({ Name: name, Role: "client", NomadNodeClass: cls, NomadDatacenter: r }) }] });
        new aws.autoscalingGroup.AutoscalingGroup(this, name, { provider: p[r], name, minSize: 1, desiredCapacity: 2, maxSize: 10, vpcZoneIdentifier: azs(r).map((_, j) => "${data.terraform_remote_state.network.outputs.private_subnet_ids[\"" + r + "\"][" + j + "]}"), launchTemplate: { id: template.id, version: "$Latest" }, tag: [{ key: "Cluster", value: "large", propagateAtLaunch: true }, { key: "opsctl:asg", value: name, propagateAtLaunch: true }] });
      }
    });
  }
}

const app = new App({ outdir: process.argv[2] || "cdktf.out" });
new Network(app, "network");
new Core(app, "core");
new Clients(app, "clients");
app.synth();
