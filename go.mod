module github.com/scimd/scimd

go 1.26
