module github.com/heal8s/heal8s/examples/memory-leak

go 1.26
