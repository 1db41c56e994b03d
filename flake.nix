{
  description = "opsctl: run Nomad-on-AWS clusters and their environments from one ops repository";

  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    flake-utils.url = "github:numtide/flake-utils";
  };

  outputs = { self, nixpkgs, flake-utils }:
    flake-utils.lib.eachDefaultSystem (system:
      let
        pkgs = import nixpkgs {
          inherit system;
          # terraform is BUSL-licensed; the dev shell offers it next to OpenTofu.
          config.allowUnfreePredicate = pkg: builtins.elem (pkgs.lib.getName pkg) [ "terraform" ];
        };
        cargoToml = builtins.fromTOML (builtins.readFile ./Cargo.toml);
        python = pkgs.python3.withPackages (ps: [ ps.moto ps.flask ps.flask-cors ]);  # moto_server
        testTools = [ pkgs.terraform pkgs.opentofu pkgs.openssh pkgs.openssl pkgs.git python ];
      in
      {
        packages.default = pkgs.rustPlatform.buildRustPackage {
          pname = cargoToml.package.name;
          version = cargoToml.package.version;
          src = pkgs.lib.cleanSource ./.;
          cargoLock.lockFile = ./Cargo.lock;
          # Only the binary's own tests: the integration suite starts moto, sshd and terraform.
          cargoTestFlags = [ "--lib" "--bins" ];
          nativeBuildInputs = [ pkgs.installShellFiles ];
          postInstall = ''
            for shell in bash fish zsh; do
              $out/bin/opsctl completions $shell > opsctl.$shell
              installShellCompletion opsctl.$shell
            done
          '';
          meta = {
            description = cargoToml.package.description;
            license = pkgs.lib.licenses.asl20;
            mainProgram = "opsctl";
          };
        };

        apps.default = flake-utils.lib.mkApp { drv = self.packages.${system}.default; };

        devShells.default = pkgs.mkShell {
          inputsFrom = [ self.packages.${system}.default ];
          packages = [ pkgs.cargo pkgs.rustc pkgs.clippy pkgs.rustfmt pkgs.rust-analyzer ] ++ testTools;
        };
      });
}
